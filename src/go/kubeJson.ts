import { GoFloat64 } from './GoFloat64.ts';

/** A map of a decoded object (JSON object or YAML mapping): a plain object. */
export type KubeMap = Record<string, unknown>;

/** Whether a decoded value is a map (not a list, not a number marked as a Go float). */
export function isMap(value: unknown): value is KubeMap {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof GoFloat64)
  );
}

/**
 * A JSON number with a fraction or exponent, or with 19 digits or more (it may overflow int64),
 * starts after `:`, `,` or `[` (or at the very start), maybe after whitespace. Text inside strings
 * can match too (only a slower parse then); a digit merely followed by `e` or `.` does not: every
 * object's uid has one, and the reviver makes parsing several times slower (docs/benchmarks.md,
 * "Figures behind the code").
 */
const MAY_HAVE_FLOAT_LITERAL = /(?:^|[:,[])\s*-?(?:\d+[.eE]|\d{19})/;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * Whether a JSON number's text is what Go's unstructured decoder keeps as float64 even though the
 * value is integral: written with a fraction or exponent (`1.0`, `1e6`), or an integer beyond int64.
 */
function isGoFloatLiteral(source: string): boolean {
  return /[.eE]/.test(source) || isBeyondInt64(source);
}

/** Whether the text is a decimal integer outside int64. */
export function isBeyondInt64(source: string): boolean {
  if (source.length < 19 || !/^[-+]?\d+$/.test(source)) return false;
  const n = BigInt(source);
  return n > INT64_MAX || n < INT64_MIN;
}

/**
 * JSON.parse that marks integral numbers Go decodes as float64 (`1.0`, `1e6`,
 * `12345678901234567890`) as GoFloat64, as Kubernetes' unstructured decoder keeps them: they format
 * differently as labels (`1e+06`, `1.2345678901234567e+19`). The reviver is only used when the
 * text could hold such a literal, because it makes parsing several times slower.
 */
export function parseKubeJson(text: string): unknown {
  if (!MAY_HAVE_FLOAT_LITERAL.test(text)) return JSON.parse(text);
  return JSON.parse(
    text,
    function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
      if (
        typeof value === 'number' &&
        Number.isInteger(value) &&
        context?.source !== undefined &&
        isGoFloatLiteral(context.source)
      ) {
        return new GoFloat64(value);
      }
      return value;
    },
  );
}
