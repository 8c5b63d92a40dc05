import { GoFloat64 } from './GoFloat64.ts';

const SAFE_LIMIT = 9007199254740992; // 2^53

/**
 * Formats `v` exactly like Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which is also what
 * `fmt.Sprintf("%v", v)` and KSM's sample writer use for a float64.
 *
 * Shortest round-trip digits, exponent form iff the decimal exponent is < -4 or >= 6, an
 * exponent of at least two digits with a sign (`1e+06`, `1e-05`, `1e+100`), and Go's
 * spellings of the special values: `NaN`, `+Inf`, `-Inf`, `-0`.
 */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = v < 0 ? -v : v;
  // In this range the shortest digits have a decimal exponent in [-4, 5], so Go prints plain
  // decimal notation, and JS (plain notation for 1e-7 <= a < 1e21) prints the same text.
  if (a >= 1e-4 && a < 1e6) return String(v);

  // JS gives the same shortest digits as Go; only the layout differs. Pull out the digit
  // string and the decimal exponent of the first digit, then lay them out the Go way.
  const s = String(a);
  let digits: string;
  let exp: number;
  const e = s.indexOf('e');
  if (e >= 0) {
    // "1.2345e+21" or "5e-324"
    exp = Number(s.slice(e + 1));
    digits = e > 1 ? s[0] + s.slice(2, e) : s.slice(0, e);
  } else {
    // 1e-7 <= a < 1e-4 ("0.0000123") or 1e6 <= a < 1e21 ("1234567.5", "1000000")
    const dot = s.indexOf('.');
    if (a < 1) {
      let i = 2;
      while (s.charCodeAt(i) === 48) i++;
      exp = 1 - i;
      digits = s.slice(i);
    } else if (dot < 0) {
      exp = s.length - 1;
      let end = s.length;
      while (end > 1 && s.charCodeAt(end - 1) === 48) end--;
      digits = s.slice(0, end);
    } else {
      exp = dot - 1;
      digits = s.slice(0, dot) + s.slice(dot + 1);
    }
  }
  const mantissa = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  const absExp = exp < 0 ? -exp : exp;
  return (v < 0 ? '-' : '') + mantissa + (exp < 0 ? 'e-' : 'e+') + (absExp < 10 ? '0' : '') + absExp;
}

/**
 * Formats a value of a Kubernetes unstructured object like Go's `fmt.Sprintf("%v", v)`.
 *
 * Our decoded objects use plain JS numbers for Go's int64 and {@link GoFloat64} for
 * integral float64 values, so: strings as is; booleans `true`/`false`; integral numbers
 * as decimal integers, never with an exponent (`1000000`, 1e21 as
 * `1000000000000000000000`); every other number and every GoFloat64 through
 * {@link formatGoFloat}; null/undefined as `<nil>`; arrays as `[a b]`; plain objects as
 * `map[k1:v1 k2:v2]` with keys in byte order, as Go's fmt sorts map keys. Nested values are
 * formatted recursively.
 *
 * An integral plain number is taken to be an int64 whatever its size, so the decoder must
 * wrap integer literals that overflow int64 in GoFloat64 too (Go decodes them as float64:
 * `1e+21`).
 */
export function formatGoValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatGoNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return '<nil>';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return '<nil>';
      if (v instanceof GoFloat64) return formatGoFloat(v.value);
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ' ';
          out += formatGoValue(v[i]);
        }
        return out + ']';
      }
      return formatGoMap(v as Record<string, unknown>);
    default:
      return String(v);
  }
}

function formatGoNumber(v: number): string {
  if (Number.isInteger(v)) {
    // String() would switch to exponent notation from 1e21 on, BigInt never does.
    return v < SAFE_LIMIT && v > -SAFE_LIMIT ? String(v) : BigInt(v).toString();
  }
  return formatGoFloat(v);
}

function formatGoMap(m: Record<string, unknown>): string {
  const keys = Object.keys(m).sort(compareCodePoints);
  let out = 'map[';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out += ' ';
    out += k + ':' + formatGoValue(m[k]);
  }
  return out + ']';
}

// Go compares map keys byte-wise on UTF-8, which is code point order. UTF-16 code unit
// order (JS's default sort) differs only when a surrogate (astral character) meets a unit
// in U+E000..U+FFFF, so remap those two ranges before comparing.
function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
