import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSampleValue } from '../../src/exposition/sampleValue.ts';

describe('formatSampleValue', () => {
  const cases: [number, string][] = [
    // Integral values below 2^53: plain integers (deliberately unlike KSM's 1.048576e+06).
    [1048576, '1048576'],
    [5368709120, '5368709120'],
    [1656374400, '1656374400'],
    [1000000, '1000000'],
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1, '-1'],
    [-3, '-3'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [-Number.MAX_SAFE_INTEGER, '-9007199254740991'],
    // From 2^53 on, and for everything non-integral, Go's %g.
    [2 ** 53, '9.007199254740992e+15'],
    [Number.MAX_SAFE_INTEGER + 2, '9.007199254740992e+15'],
    [-(2 ** 53), '-9.007199254740992e+15'],
    [1e21, '1e+21'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [0.25, '0.25'],
    [43.21, '43.21'],
    [0.1 + 0.2, '0.30000000000000004'],
    [0.005, '0.005'],
    [1e-5, '1e-05'],
    [5e-324, '5e-324'],
    [1234567.5, '1.2345675e+06'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  for (const [input, expected] of cases) {
    test(`${Object.is(input, -0) ? '-0' : String(input)} -> ${expected}`, () => {
      assert.equal(formatSampleValue(input), expected);
    });
  }
});
