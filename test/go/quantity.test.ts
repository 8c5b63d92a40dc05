import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseQuantity } from '../../src/go/quantity.ts';

// Expected values were printed by Go 1.26 with k8s.io/apimachinery v0.36.3 (the version KSM
// v2.20 uses): resource.ParseQuantity(s) then q.AsApproximateFloat64(); undefined where
// ParseQuantity returned an error. assert.equal compares with Object.is, so NaN and the
// exact double (0.30000000000000004, not 0.3) are checked.

const cases: [string, number | undefined][] = [
  // The examples KSM users rely on.
  ['250m', 0.25],
  ['5Gi', 5368709120],
  ['262144k', 262144000],
  ['1Ki', 1024],
  ['1e3', 1000],
  ['1E3', 1000],
  ['5m', 0.005],
  ['1E', 1e18],
  ['1', 1],
  ['-3', -3],
  ['+1', 1],
  ['1.5', 1.5],
  ['43.21', 43.21],
  ['100m', 0.1],
  // mantissa * Pow10(scale) in float64, not the nearest double to the decimal.
  ['0.3', 0.30000000000000004],
  ['0.7', 0.7000000000000001],
  ['0.123456789', 0.12345678900000001],
  ['12.3456789', 12.3456789],
  // Every suffix.
  ['1n', 1e-9],
  ['1u', 0.000001],
  ['1k', 1000],
  ['1M', 1000000],
  ['1G', 1000000000],
  ['1T', 1000000000000],
  ['1P', 1000000000000000],
  ['2E', 2000000000000000000],
  ['10E', 10000000000000000000],
  ['1Mi', 1048576],
  ['1Gi', 1073741824],
  ['1Ti', 1099511627776],
  ['99Ti', 108851651149824],
  ['100Ti', 109951162777600],
  ['1Pi', 1125899906842624],
  ['1Ei', 1152921504606847000],
  ['7Ei', 8070450532247929000],
  ['1.5Gi', 1610612736],
  ['-1.5Gi', -1610612736],
  ['.5Ki', 512],
  ['0.5Ki', 512],
  ['1.Ki', 1024],
  ['1e0', 1],
  ['1e-3', 0.001],
  ['1E+10', 10000000000],
  ['1.5E-3', 0.0015],
  ['5e-1', 0.5],
  ['1E-9', 1e-9],
  ['1.0e3', 1000],
  // Binary-SI values are capped at max int64 (which prints as 2^63 as a double).
  ['8Ei', 9223372036854775807],
  ['9Ei', 9223372036854775807],
  ['-9Ei', -9223372036854775807],
  ['12345678901234567890Ki', 9223372036854775807],
  // Zeros, signs and the permissive number grammar.
  ['0', 0],
  ['-0', 0],
  ['000', 0],
  ['00.5', 0.5],
  ['5.', 5],
  ['.5', 0.5],
  ['1.G', 1000000000],
  ['.', 0],
  ['-', 0],
  ['+', 0],
  ['-.', 0],
  ['.e3', 0],
  ['.e-9', 0],
  // Finer than nano: the inf.Dec path rounds up (away from zero) to a multiple of 1e-9.
  ['1.5e-9', 2e-9],
  ['1.5n', 2e-9],
  ['-.5n', -1e-9],
  ['0.0000000001', 1e-9],
  ['0.000000000000000000000000000000001', 1e-9],
  ['0.1234567891', 0.12345679000000001],
  ['0.30000000000000004', 0.300000001],
  ['1e-323', 1e-9],
  ['1e-324', 1e-9],
  // More than 18 digits: the inf.Dec path.
  ['123456789012345678', 123456789012345680],
  ['1234567890123456789', 1234567890123457000],
  ['123456789012345678901234567890', 1.234567890123457e29],
  ['0.1234567890123', 0.12345679000000001],
  ['1.23456789012345678e5', 123456.78901234601],
  ['9007199254740993', 9007199254740992],
  ['99999999999999999', 100000000000000000],
  ['999999999999999999', 1000000000000000000],
  ['1' + '0'.repeat(400), Infinity],
  ['-1' + '0'.repeat(400), -Infinity],
  // Large exponents: Pow10 overflow, and Go's silent int32 truncation of the exponent.
  ['1e308', 1e308],
  ['1e309', Infinity],
  ['1e400', Infinity],
  ['-1e400', -Infinity],
  ['0e400', NaN],
  ['0e-400', 0],
  ['1e4294967296', 1],
  ['1e4294967295', 0.1],
  ['1e9223372036854775807', 0.1],
  ['1e-9223372036854775808', 1],
  // Failures.
  ['', undefined],
  ['Ready', undefined],
  ['1h', undefined],
  ['1h30m', undefined],
  ['NaN', undefined],
  ['Inf', undefined],
  ['28%', undefined],
  ['1.5%', undefined],
  ['.e-10', undefined], // the inf.Dec path needs a digit
  ['1e99999999999999999999', undefined], // exponent beyond int64
  [' 1', undefined],
  ['1 ', undefined],
  ['\t1', undefined],
  ['1,5', undefined],
  ['1_000', undefined],
  ['1e', undefined],
  ['1e+', undefined],
  ['1i', undefined],
  ['1K', undefined],
  ['1KiB', undefined],
  ['1Mi5', undefined],
  ['1m3', undefined],
  ['1e3e', undefined],
  ['1e3.5', undefined],
  ['1ee3', undefined],
  ['1Ee3', undefined],
  ['1e-3i', undefined],
  ['1.2.3', undefined],
  ['+-1', undefined],
  ['--1', undefined],
  ['0x10', undefined],
  ['\u0661', undefined], // ARABIC-INDIC DIGIT ONE is not a digit here
];

describe('parseQuantity', () => {
  for (const [input, expected] of cases) {
    const name =
      input.length > 40 ? `${input.slice(0, 12)}...(${input.length} chars)` : JSON.stringify(input);
    test(`${name} -> ${String(expected)}`, () => {
      assert.equal(parseQuantity(input), expected);
    });
  }
});
