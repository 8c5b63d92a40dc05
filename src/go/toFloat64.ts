import { GoFloat64 } from './GoFloat64.ts';
import { formatGoValue } from './goFormat.ts';
import { parseQuantity } from './quantity.ts';
import { parseGoRfc3339Seconds } from './rfc3339.ts';
import { goParseFloat, NumError, parseFloatError } from './strconv.ts';

/** A value that KSM's `toFloat64` rejects; the message is KSM's error text, verbatim. */
export class ValueConversionError extends Error {
  /** @param message the Go error text, e.g. `strconv.ParseFloat: parsing "Ready": invalid syntax` */
  constructor(message: string) {
    super(message);
    this.name = 'ValueConversionError';
  }
}

/**
 * Converts a value of an unstructured object to a sample value exactly like KSM's
 * `toFloat64` (pkg/customresourcestate/registry_factory.go), throwing
 * {@link ValueConversionError} with KSM's message where it returns an error.
 *
 * - null/undefined: 0 if `nilIsZero`, else `expected number but found nil value`
 * - boolean: 1 or 0
 * - number (Go int64) and {@link GoFloat64}: the number itself
 * - string, first match wins: case-insensitive `true`/`yes` (1) and `false`/`no`/`unknown`
 *   (0); an RFC 3339 timestamp (Unix seconds); a Kubernetes quantity (`250m`, `5Gi`, `1.5`);
 *   an integer percentage `^[0-9]+%$` (n/100); Go's `strconv.ParseFloat` (`NaN`, `Inf`,
 *   hex floats, `1_000`); otherwise `strconv.ParseFloat: parsing "<s>": invalid syntax`
 *   (or `value out of range`)
 * - anything else (map, array): `expected number but was <%v of the value>`
 */
export function toFloat64(v: unknown, nilIsZero: boolean): number {
  // The types are disjoint, so testing the common ones first keeps Go's semantics.
  // A plain number stands for a Go int64, which has no negative zero: `+ 0` turns -0
  // (JSON.parse("-0")) into 0 as Go's decoder does, and leaves every other value alone.
  if (typeof v === 'number') return v + 0;
  if (typeof v === 'string') return stringToFloat64(v);
  if (v === null || v === undefined) {
    if (nilIsZero) return 0;
    throw new ValueConversionError('expected number but found nil value');
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof GoFloat64) return v.value;
  // Not produced by our decoder; Go would cast any integer kind, so do the same.
  if (typeof v === 'bigint') return Number(v);
  throw new ValueConversionError('expected number but was ' + formatGoValue(v));
}

function stringToFloat64(s: string): number {
  const word = conditionWord(s);
  if (word >= 0) return word;
  const seconds = parseGoRfc3339Seconds(s);
  if (seconds !== undefined) return seconds;
  const quantity = parseQuantity(s);
  if (quantity !== undefined) return quantity;
  if (isIntegerPercent(s)) {
    // KSM parses the digits with ParseFloat and divides; long digit strings overflow.
    const digits = s.slice(0, -1);
    const n = Number(digits);
    if (n === Infinity) throw new ValueConversionError(parseFloatError(digits, 'value out of range').message);
    return n / 100;
  }
  try {
    return goParseFloat(s);
  } catch (err) {
    if (err instanceof NumError) throw new ValueConversionError(err.message);
    throw err;
  }
}

// 1 for true/yes, 0 for false/no/unknown, -1 otherwise, compared like Go's
// strings.ToLower(s) == word without allocating a lowered copy.
function conditionWord(s: string): number {
  switch (s.length) {
    case 2:
      return equalsLower(s, 'no') ? 0 : -1;
    case 3:
      return equalsLower(s, 'yes') ? 1 : -1;
    case 4:
      return equalsLower(s, 'true') ? 1 : -1;
    case 5:
      return equalsLower(s, 'false') ? 0 : -1;
    case 7:
      return equalsLower(s, 'unknown') ? 0 : -1;
    default:
      return -1;
  }
}

// `word` is lowercase ASCII letters. Go's unicode.ToLower maps exactly two non-ASCII runes
// to ASCII letters: U+0130 to 'i' (no word has an 'i') and U+212A KELVIN SIGN to 'k', so
// "UN\u212ANOWN" lowers to "unknown" in Go and must match here too.
function equalsLower(s: string, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = s.charCodeAt(i);
    const w = word.charCodeAt(i);
    if ((c | 0x20) !== w && !(c === 0x212a && w === 107)) return false;
  }
  return true;
}

// apimachinery validation.IsValidPercent: ^[0-9]+%$
function isIntegerPercent(s: string): boolean {
  const last = s.length - 1;
  if (last < 1 || s.charCodeAt(last) !== 37 /* % */) return false;
  for (let i = 0; i < last; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
