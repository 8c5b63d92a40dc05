import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { GoFloat64 } from '../../src/go/GoFloat64.ts';
import { formatGoFloat, formatGoValue } from '../../src/go/goFormat.ts';

// Expected strings were printed by Go 1.26 (strconv.FormatFloat(v, 'g', -1, 64), which
// fmt's %v gives too, and fmt.Sprintf("%v") on values decoded by apimachinery's JSON
// decoder).

describe('formatGoFloat', () => {
  const cases: [number, string][] = [
    [1e6, '1e+06'],
    [1048576, '1.048576e+06'],
    [123456, '123456'],
    [1656374400, '1.6563744e+09'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [43.21, '43.21'],
    [5368709120, '5.36870912e+09'],
    [1e21, '1e+21'],
    [1e20, '1e+20'],
    [0.1 + 0.2, '0.30000000000000004'],
    [0, '0'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [-1.7976931348623157e308, '-1.7976931348623157e+308'],
    [5e-324, '5e-324'],
    [-5e-324, '-5e-324'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [Number.MAX_SAFE_INTEGER, '9.007199254740991e+15'],
    [Number.MAX_SAFE_INTEGER + 2, '9.007199254740992e+15'],
    [2 ** 63, '9.223372036854776e+18'],
    [999999, '999999'],
    [999999.9999999999, '999999.9999999999'],
    [1e100, '1e+100'],
    [1e-100, '1e-100'],
    [1.5e-7, '1.5e-07'],
    [1e-7, '1e-07'],
    [0.000123, '0.000123'],
    [9.999999999999999e-5, '9.999999999999999e-05'],
    [123456.7, '123456.7'],
    [1234567.8, '1.2345678e+06'],
    [12345678, '1.2345678e+07'],
    [100, '100'],
    [1, '1'],
    [-1, '-1'],
    [0.5, '0.5'],
    [0.25, '0.25'],
    [0.1, '0.1'],
    [-0.005, '-0.005'],
    [-1234.5, '-1234.5'],
    [1 / 3, '0.3333333333333333'],
    [1.2345678901234567e-300, '1.2345678901234568e-300'],
  ];
  for (const [input, expected] of cases) {
    test(`${Object.is(input, -0) ? '-0' : String(input)} -> ${expected}`, () => {
      assert.equal(formatGoFloat(input), expected);
    });
  }
});

describe('formatGoValue', () => {
  const cases: [string, unknown, string][] = [
    ['string as is', 's p', 's p'],
    ['empty string', '', ''],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['null', null, '<nil>'],
    ['undefined', undefined, '<nil>'],
    ['int64 zero', 0, '0'],
    ['int64 from JSON -0', -0, '0'],
    ['int64 1000000', 1000000, '1000000'],
    ['int64 1656374400', 1656374400, '1656374400'],
    ['int64 negative', -42, '-42'],
    ['int64 beyond 2^53 prints every digit', 2 ** 60, '1152921504606846976'],
    ['integral number 1e21 stays integer text', 1e21, '1000000000000000000000'],
    ['non-integral number is float64', -2.5, '-2.5'],
    ['small non-integral number', 1e-5, '1e-05'],
    ['float64 1e6', new GoFloat64(1e6), '1e+06'],
    ['float64 1.0', new GoFloat64(1), '1'],
    ['float64 1656374400.0', new GoFloat64(1656374400), '1.6563744e+09'],
    ['float64 1e20 (integer literal beyond int64)', new GoFloat64(1e20), '1e+20'],
    ['float64 -0', new GoFloat64(-0), '-0'],
    ['float64 0.0001', new GoFloat64(0.0001), '0.0001'],
    ['float64 NaN', new GoFloat64(NaN), 'NaN'],
    ['empty array', [], '[]'],
    ['empty map', {}, 'map[]'],
    ['array', [1, 'a b', null, true, [2, []], {}], '[1 a b <nil> true [2 []] map[]]'],
    [
      'nested map with sorted keys',
      { b: 2, a: 1, c: { z: null, y: [new GoFloat64(1e6)] } },
      'map[a:1 b:2 c:map[y:[1e+06] z:<nil>]]',
    ],
    ['map keys in byte order', { B: 1, a: 2, _: 3, '1': 4 }, 'map[1:4 B:1 _:3 a:2]'],
    [
      'map keys in code point order, not UTF-16 order',
      { '\ue000': 1, '\u{1F600}': 2, z: 3 },
      'map[z:3 \ue000:1 \u{1F600}:2]',
    ],
    ['empty key and colon in value', { k: 'v:w', '': 'empty' }, 'map[:empty k:v:w]'],
    [
      'float64 limits in an array',
      [new GoFloat64(1e300), 5e-324, new GoFloat64(1.7976931348623157e308)],
      '[1e+300 5e-324 1.7976931348623157e+308]',
    ],
  ];
  for (const [name, input, expected] of cases) {
    test(`${name} -> ${expected}`, () => {
      assert.equal(formatGoValue(input), expected);
    });
  }
});
