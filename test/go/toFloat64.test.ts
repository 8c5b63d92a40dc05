import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { GoFloat64 } from '../../src/go/GoFloat64.ts';
import { ValueConversionError, toFloat64 } from '../../src/go/toFloat64.ts';

// Expected values and messages were printed by Go 1.26 running a copy of KSM's toFloat64
// (registry_factory.go) with k8s.io/apimachinery v0.36.3, on values decoded by
// apimachinery's JSON decoder.

function assertConversionError(input: unknown, message: string): void {
  assert.throws(
    () => toFloat64(input, false),
    (err: unknown) => {
      assert.ok(err instanceof ValueConversionError);
      assert.equal(err.name, 'ValueConversionError');
      assert.equal(err.message, message);
      return true;
    },
  );
}

const parseError = (s: string): string => `strconv.ParseFloat: parsing ${s}: invalid syntax`;
const rangeError = (s: string): string => `strconv.ParseFloat: parsing ${s}: value out of range`;

describe('toFloat64: non-string values', () => {
  test('null is an error unless nilIsZero', () => {
    assert.equal(toFloat64(null, true), 0);
    assertConversionError(null, 'expected number but found nil value');
  });
  test('undefined counts as nil', () => {
    assert.equal(toFloat64(undefined, true), 0);
    assertConversionError(undefined, 'expected number but found nil value');
  });
  test('nilIsZero does not affect other values', () => {
    assert.equal(toFloat64(7, true), 7);
    assert.equal(toFloat64('1.5', true), 1.5);
    assert.throws(() => toFloat64('Ready', true), ValueConversionError);
  });
  test('booleans', () => {
    assert.equal(toFloat64(true, false), 1);
    assert.equal(toFloat64(false, false), 0);
  });
  const numbers: [string, unknown, number][] = [
    ['int64', 42, 42],
    ['negative int64', -3, -3],
    ['int64 -0 from JSON is 0', -0, 0],
    ['float64', 43.21, 43.21],
    ['float64 marker', new GoFloat64(1e6), 1e6],
    ['float64 marker keeps -0', new GoFloat64(-0), -0],
    ['largest double', 1.7976931348623157e308, 1.7976931348623157e308],
    ['smallest subnormal', 5e-324, 5e-324],
    ['beyond 2^53', Number.MAX_SAFE_INTEGER + 2, 9007199254740992],
    ['NaN number', NaN, NaN],
    ['Infinity number', -Infinity, -Infinity],
    ['bigint', 12n, 12],
  ];
  for (const [name, input, expected] of numbers) {
    test(name, () => {
      assert.equal(toFloat64(input, false), expected);
    });
  }
  const others: [string, unknown, string][] = [
    ['map', { a: 1 }, 'expected number but was map[a:1]'],
    [
      'nested map',
      { a: 1, b: [1, 2.5, null, 'x'], c: new GoFloat64(1e6) },
      'expected number but was map[a:1 b:[1 2.5 <nil> x] c:1e+06]',
    ],
    ['empty map', {}, 'expected number but was map[]'],
    ['array', [1, true], 'expected number but was [1 true]'],
    ['empty array', [], 'expected number but was []'],
  ];
  for (const [name, input, message] of others) {
    test(`${name} is an error`, () => {
      assertConversionError(input, message);
    });
  }
});

describe('toFloat64: strings', () => {
  const values: [string, number][] = [
    // Condition words, case-insensitive, checked first.
    ['true', 1],
    ['True', 1],
    ['TRUE', 1],
    ['yes', 1],
    ['YES', 1],
    ['Yes', 1],
    ['false', 0],
    ['False', 0],
    ['no', 0],
    ['No', 0],
    ['unknown', 0],
    ['Unknown', 0],
    ['UNKNOWN', 0],
    ['UN\u212ANOWN', 0], // Go lowercases KELVIN SIGN to 'k'
    // RFC 3339 timestamps.
    ['2022-06-28T00:00:00Z', 1656374400],
    ['2026-02-09T10:05:00+01:00', 1770627900],
    ['1969-12-31T23:59:59.5Z', -1],
    // Quantities, plain numbers included.
    ['250m', 0.25],
    ['5Gi', 5368709120],
    ['262144k', 262144000],
    ['1Ki', 1024],
    ['1e3', 1000],
    ['1E3', 1000],
    ['5m', 0.005],
    ['1E', 1e18],
    ['1', 1],
    ['0', 0],
    ['-3', -3],
    ['1.5', 1.5],
    ['0.3', 0.30000000000000004],
    ['43.21', 43.21],
    ['-', 0],
    ['.', 0],
    ['0e400', NaN],
    ['1e400', Infinity],
    // Integer percentages.
    ['28%', 0.28],
    ['100%', 1],
    ['0%', 0],
    ['007%', 0.07],
    // strconv.ParseFloat: special values, underscores, hex floats, huge exponents.
    ['NaN', NaN],
    ['nan', NaN],
    ['Inf', Infinity],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['inf', Infinity],
    ['INF', Infinity],
    ['infinity', Infinity],
    ['+Infinity', Infinity],
    ['-INFINITY', -Infinity],
    ['1_000', 1000],
    ['1_000.5', 1000.5],
    ['1_0e1_0', 100000000000],
    ['-0_0', -0],
    ['0x1p-2', 0.25],
    ['0X1P+2', 4],
    ['0x1.8p1', 3],
    ['0x_1p4', 16],
    ['-0x1p0', -1],
    ['0x1.fffffffffffffp1023', 1.7976931348623157e308],
    ['0x1p-1074', 5e-324],
    ['0x1p-1075', 0], // a tie rounds to even
    ['0x1.8p-1075', 5e-324],
    ['0x1.00000000000008p0', 1], // a tie rounds to even
    ['0x1.00000000000018p0', 1.0000000000000004],
    ['1e-99999999999999999999', 0],
  ];
  for (const [input, expected] of values) {
    test(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
      assert.equal(toFloat64(input, false), expected);
    });
  }

  const errors: [string, string][] = [
    ['Ready', parseError('"Ready"')],
    ['Running', parseError('"Running"')],
    ['', parseError('""')],
    [' ', parseError('" "')],
    [' 1', parseError('" 1"')],
    ['1 ', parseError('"1 "')],
    [' true', parseError('" true"')],
    ['true ', parseError('"true "')],
    ['y', parseError('"y"')],
    ['t', parseError('"t"')],
    ['on', parseError('"on"')],
    ['off', parseError('"off"')],
    ['1h', parseError('"1h"')],
    ['1h30m', parseError('"1h30m"')],
    ['28.5%', parseError('"28.5%"')],
    ['-5%', parseError('"-5%"')],
    ['%', parseError('"%"')],
    ['28 %', parseError('"28 %"')],
    ['+NaN', parseError('"+NaN"')],
    ['-NaN', parseError('"-NaN"')],
    ['infin', parseError('"infin"')],
    ['infx', parseError('"infx"')],
    ['Infinity1', parseError('"Infinity1"')],
    ['_1', parseError('"_1"')],
    ['1_', parseError('"1_"')],
    ['1__0', parseError('"1__0"')],
    ['1._5', parseError('"1._5"')],
    ['0x1', parseError('"0x1"')],
    ['0x', parseError('"0x"')],
    ['0b101', parseError('"0b101"')],
    ['0o17', parseError('"0o17"')],
    ['\u0661\u0662', parseError('"\u0661\u0662"')],
    ['0x1.fffffffffffff8p1023', rangeError('"0x1.fffffffffffff8p1023"')],
    ['1e99999999999999999999', rangeError('"1e99999999999999999999"')],
    ['-1e99999999999999999999', rangeError('"-1e99999999999999999999"')],
    // A percentage too long for a double: the error names the digits without the '%'.
    ['1' + '0'.repeat(400) + '%', rangeError(`"1${'0'.repeat(400)}"`)],
    // Go %q quoting in the message.
    ['a"b\\c', parseError('"a\\"b\\\\c"')],
    ['tab\there\n', parseError('"tab\\there\\n"')],
    ['\u0000\u0007\u001b\u007f', parseError('"\\x00\\a\\x1b\\x7f"')],
    ['\u0008\u000b\u000c\r', parseError('"\\b\\v\\f\\r"')],
    ['é\u00a0\u2028\u200b', parseError('"é\\u00a0\\u2028\\u200b"')],
    ['\u{1F600}\u{E0001}', parseError('"\u{1F600}\\U000e0001"')],
  ];
  for (const [input, message] of errors) {
    const name =
      input.length > 40 ? `${input.slice(0, 12)}...(${input.length} chars)` : JSON.stringify(input);
    test(`${name} is an error`, () => {
      assertConversionError(input, message);
    });
  }
});
