import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseKubeJson } from '../../src/go/kubeJson.ts';
import { GoFloat64 } from '../../src/go/GoFloat64.ts';

/**
 * The reference behaviour: every integral number written with a fraction or exponent, or beyond
 * int64, marked (Go's unstructured decoder keeps those float64).
 */
function reference(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    const source = context?.source ?? '';
    const beyondInt64 =
      /^-?\d+$/.test(source) && (BigInt(source) >= 2n ** 63n || BigInt(source) < -(2n ** 63n));
    return typeof value === 'number' && Number.isInteger(value) && (/[.eE]/.test(source) || beyondInt64)
      ? new GoFloat64(value)
      : value;
  });
}

describe('parseKubeJson', () => {
  it('marks integral floats wherever a number can stand', () => {
    const parsed = parseKubeJson('{"a":1.0,"b":[2e3, 3],"c": -4.00E1,"d":{"e":5.5}}') as Record<
      string,
      unknown
    >;
    assert.deepEqual(parsed, {
      a: new GoFloat64(1),
      b: [new GoFloat64(2000), 3],
      c: new GoFloat64(-40),
      d: { e: 5.5 },
    });
    assert.deepEqual(parseKubeJson('1e2'), new GoFloat64(100));
  });

  it('marks integers beyond int64 (Go decodes them as float64), and only those', () => {
    const parsed = parseKubeJson(
      '{"over":12345678901234567890,"max":9223372036854775807,"min":-9223372036854775808,"under":-9223372036854775809,"long":[1234567890123456789]}',
    );
    assert.deepEqual(parsed, {
      over: new GoFloat64(12345678901234567890),
      max: 9223372036854775807,
      min: -9223372036854775808,
      under: new GoFloat64(-9223372036854775809),
      long: [1234567890123456789],
    });
  });

  it('leaves numbers alone in an object whose strings hold digits before e or .', () => {
    const text = JSON.stringify({
      metadata: { uid: '3e9f0a1c-77e2-4b1d-9e3f-0c1d2e3f4a5b', name: 'v1.2', resourceVersion: '123' },
      spec: { target: 's3://bucket-1/backups/1e5', size: 10 },
    });
    assert.deepEqual(parseKubeJson(text), JSON.parse(text));
  });

  it('agrees with the always-reviving parse on any JSON (property)', () => {
    const numbers = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom('1.0', '2e3', '-0.0', '1E+2', '7.50'),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => `big:${n}`),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        numbers,
        fc.string(),
        fc.constantFrom(true, null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.constantFrom('', ' ', '\n  '), (v, space) => {
        // Literal number texts ('1.0') are spliced in unquoted, as a server would send them.
        const text = JSON.stringify(v, null, space)
          .replace(/"(1\.0|2e3|-0\.0|1E\+2|7\.50)"/g, '$1')
          .replace(/"big:(-?\d+)"/g, '$1');
        assert.deepEqual(parseKubeJson(text), reference(text));
      }),
      { numRuns: 500 },
    );
  });
});
