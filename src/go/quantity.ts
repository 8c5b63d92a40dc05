// Mirrors k8s.io/apimachinery/pkg/api/resource (quantity.go ParseQuantity,
// parseQuantityString, AsApproximateFloat64; suffix.go) as of v0.36, the version KSM
// v2.20 uses. The float result is not "the decimal value rounded to a double": Go computes
// mantissa * math.Pow10(scale) in float64 ("0.3" gives 0.30000000000000004), so the same
// arithmetic is reproduced step by step here.

const CH_0 = 48;
const CH_9 = 57;
const CH_PLUS = 43;
const CH_MINUS = 45;
const CH_DOT = 46;

// Go's math.Pow10 tables. Its result is a product or quotient of two table entries, which is
// not always the correctly rounded 10^n, so the tables are copied rather than using 10 ** n.
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
];
const POW10_POS32 = [1, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288];
const POW10_NEG32 = [1, 1e-32, 1e-64, 1e-96, 1e-128, 1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320];

function goPow10(n: number): number {
  if (n >= 0 && n <= 308) {
    return (POW10_POS32[n >>> 5] as number) * (POW10[n & 31] as number);
  }
  if (n < 0 && n >= -323) {
    const m = -n;
    return (POW10_NEG32[m >>> 5] as number) / (POW10[m & 31] as number);
  }
  return n > 0 ? Infinity : 0;
}

// Characters that Go's scanner collects into a suffix before an optional signed integer.
function isSuffixChar(c: number): boolean {
  switch (c) {
    case 101: // e
    case 69: // E
    case 105: // i
    case 110: // n
    case 117: // u
    case 109: // m
    case 107: // k
    case 75: // K
    case 77: // M
    case 71: // G
    case 84: // T
    case 80: // P
      return true;
    default:
      return false;
  }
}

const MAX_INT64_DIGITS = '9223372036854775807';
// maxAllowed (max int64) at inf.Dec scale 9, the cap applied to binary-SI quantities.
const MAX_ALLOWED_NANO = 9223372036854775807n * 1000000000n;

// Base, exponent and format of a suffix (suffix.go interpret), packed to avoid an allocation:
// returns NaN for an unknown suffix, the decimal exponent for base 10 and, for base 2, the
// binary exponent plus BINARY_FLAG. Exponents of the e/E form fit int32, so the flag is
// out of their range.
const BINARY_FLAG = 2 ** 40;

function interpretSuffix(s: string, start: number): number {
  const len = s.length - start;
  if (len === 0) return 0;
  const c = s.charCodeAt(start);
  if (len === 1) {
    switch (c) {
      case 110: // n
        return -9;
      case 117: // u
        return -6;
      case 109: // m
        return -3;
      case 107: // k
        return 3;
      case 77: // M
        return 6;
      case 71: // G
        return 9;
      case 84: // T
        return 12;
      case 80: // P
        return 15;
      case 69: // E
        return 18;
      default:
        return NaN;
    }
  }
  if (len === 2 && s.charCodeAt(start + 1) === 105 /* i */) {
    switch (c) {
      case 75: // K
        return BINARY_FLAG + 10;
      case 77: // M
        return BINARY_FLAG + 20;
      case 71: // G
        return BINARY_FLAG + 30;
      case 84: // T
        return BINARY_FLAG + 40;
      case 80: // P
        return BINARY_FLAG + 50;
      case 69: // E
        return BINARY_FLAG + 60;
    }
  }
  if (c === 101 || c === 69) return parseExponent(s, start + 1);
  return NaN;
}

// strconv.ParseInt(s, 10, 64) followed by Go's int32() conversion, which wraps silently
// ("1e4294967296" is 1). NaN when ParseInt fails.
function parseExponent(s: string, start: number): number {
  let i = start;
  const end = s.length;
  let neg = false;
  const c = s.charCodeAt(i);
  if (c === CH_PLUS || c === CH_MINUS) {
    neg = c === CH_MINUS;
    i++;
  }
  if (i >= end) return NaN;
  while (i < end - 1 && s.charCodeAt(i) === CH_0) i++;
  const digitsStart = i;
  let x = 0;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - CH_0;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  const n = end - digitsStart;
  if (n <= 15) return (neg ? -x : x) | 0;
  const digits = s.slice(digitsStart, end);
  if (n > 19) return NaN;
  // int64 range: one more on the negative side.
  if (n === 19 && digits > MAX_INT64_DIGITS && !(neg && digits === '9223372036854775808')) {
    return NaN;
  }
  return Number(BigInt.asIntN(32, BigInt(neg ? '-' + digits : digits)));
}

/**
 * Parses `s` with Kubernetes' `resource.ParseQuantity` and converts it with
 * `Quantity.AsApproximateFloat64()`, returning undefined where ParseQuantity fails.
 *
 * Grammar: `[+-]<digits>[.<digits>]<suffix>`, no whitespace, where the suffix is empty, a
 * decimal SI suffix (`n u m k M G T P E`), a binary SI suffix (`Ki Mi Gi Ti Pi Ei`) or
 * `e`/`E` followed by a signed integer. Reproduces Go's quirks: `"."`, `"-"` and `"5."`
 * parse (as 0, 0, 5); at most 18 significant digits and nano precision stay exact, beyond
 * that the value is rounded up (away from zero) to a multiple of 1e-9; binary-SI values are
 * capped at ±(2^63-1); `"0e400"` gives NaN (0 * +Inf); the float is built as
 * `mantissa * Pow10(scale)`, so `"0.3"` gives 0.30000000000000004.
 */
export function parseQuantity(s: string): number | undefined {
  const end = s.length;
  if (end === 0) return undefined;
  let pos = 0;
  let positive = true;
  const first = s.charCodeAt(0);
  if (first === CH_MINUS) {
    positive = false;
    pos = 1;
  } else if (first === CH_PLUS) {
    pos = 1;
  }
  while (pos < end && s.charCodeAt(pos) === CH_0) pos++;
  // Only a sign and zeros: Go returns "0" with no suffix.
  if (pos >= end) return 0;

  const numStart = pos;
  while (pos < end && isDigitAt(s, pos)) pos++;
  const numEnd = pos;
  let denomStart = pos;
  let denomEnd = pos;
  if (pos < end && s.charCodeAt(pos) === CH_DOT) {
    pos++;
    denomStart = pos;
    while (pos < end && isDigitAt(s, pos)) pos++;
    denomEnd = pos;
  }
  const valueEnd = pos;

  const suffixStart = pos;
  while (pos < end && isSuffixChar(s.charCodeAt(pos))) pos++;
  if (pos < end) {
    const c = s.charCodeAt(pos);
    if (c === CH_PLUS || c === CH_MINUS) pos++;
    while (pos < end && isDigitAt(s, pos)) pos++;
    if (pos < end) return undefined;
  }

  const interpreted = interpretSuffix(s, suffixStart);
  if (interpreted !== interpreted) return undefined;
  const binary = interpreted >= BINARY_FLAG;
  const exponent = binary ? interpreted - BINARY_FLAG : interpreted;

  // Go counts an empty integer part as the single digit "0".
  const numLen = numEnd > numStart ? numEnd - numStart : 1;
  const denomLen = denomEnd - denomStart;
  let precision: number;
  let scale: number;
  if (binary) {
    scale = 0;
    // (exponent*3/10) is exact for the multiples of 10 used here.
    precision = denomLen === 0 ? 14 - numLen - (exponent * 3) / 10 : -1;
  } else {
    scale = exponent;
    precision = 18 - numLen - denomLen;
  }

  if (precision >= 0) {
    scale = (scale - denomLen) | 0; // int32 arithmetic in Go
    if (scale >= -9) {
      // num+denom has at most 18 digits, so Go's ParseInt cannot fail. Up to 15 digits the
      // accumulation is exact; beyond, Number() rounds to nearest-even like float64(int64).
      let value: number;
      if (numEnd - numStart + denomLen <= 15) {
        value = 0;
        for (let i = numStart; i < numEnd; i++) value = value * 10 + (s.charCodeAt(i) - CH_0);
        for (let i = denomStart; i < denomEnd; i++) value = value * 10 + (s.charCodeAt(i) - CH_0);
      } else {
        value = Number(s.slice(numStart, numEnd) + s.slice(denomStart, denomEnd));
      }
      // Binary fast path: value has at most 11 digits and value * 2^exponent < 2^47, so the
      // int64 multiply neither overflows nor loses bits in the double.
      if (binary) value *= 2 ** exponent;
      // Go negates an int64, so zero never becomes -0.
      if (!positive && value !== 0) value = -value;
      return scale === 0 ? value : value * goPow10(scale);
    }
  }
  return parseQuantitySlow(s, positive, numStart, numEnd, denomStart, denomEnd, valueEnd, binary, exponent);
}

// The inf.Dec path of ParseQuantity: more than 18 digits, finer than nano, or a binary
// suffix with a fraction (or one too large for the int64 fast path).
function parseQuantitySlow(
  s: string,
  positive: boolean,
  numStart: number,
  numEnd: number,
  denomStart: number,
  denomEnd: number,
  valueEnd: number,
  binary: boolean,
  exponent: number,
): number | undefined {
  // inf.Dec.SetString needs at least one digit in the number text (leading zeros count):
  // ".e-10" fails here although ".e-9" took the fast path and parsed as 0.
  let hasDigit = false;
  for (let i = 0; i < valueEnd; i++) {
    if (isDigitAt(s, i)) {
      hasDigit = true;
      break;
    }
  }
  if (!hasDigit) return undefined;

  const denomLen = denomEnd - denomStart;
  const digits = s.slice(numStart, numEnd) + s.slice(denomStart, denomEnd);
  let unscaled = digits.length > 0 ? BigInt(digits) : 0n;
  // inf.Dec scale, int32 arithmetic; the decimal suffix moves it, the binary one multiplies.
  let decScale: number;
  if (binary) {
    unscaled <<= BigInt(exponent);
    decScale = denomLen;
  } else {
    decScale = (denomLen + (-exponent | 0)) | 0;
  }

  if (unscaled === 0n) {
    // Zero is not rounded, so it keeps its scale; 0 * Pow10(>308) is NaN in Go too.
    const e = -decScale | 0;
    return e === 0 ? 0 : 0 * goPow10(e);
  }

  // Round up (away from zero) to scale 9 (nano). The magnitude is positive here.
  let nano: bigint;
  if (decScale <= 9) {
    const shift = 9 - decScale;
    // The significant digits of the unscaled value, to spot results that can only be
    // +Inf before building a huge BigInt (Go would grind through it for minutes).
    let significant = digits.length;
    for (let i = 0; i < digits.length && digits.charCodeAt(i) === CH_0; i++) significant--;
    if (!binary && significant - 1 + shift >= 309) return positive ? Infinity : -Infinity;
    nano = unscaled * 10n ** BigInt(shift);
  } else {
    const shift = decScale - 9;
    if (shift >= digits.length + 19) {
      // |unscaled| < 10^shift, so the quotient rounds up to exactly one nano unit.
      nano = 1n;
    } else {
      const divisor = 10n ** BigInt(shift);
      nano = unscaled / divisor;
      if (nano * divisor !== unscaled) nano += 1n;
    }
  }

  if (binary && nano > MAX_ALLOWED_NANO) {
    // The cap is stored at scale 0, so AsApproximateFloat64 returns it unscaled.
    return positive ? 9223372036854775807 : -9223372036854775807;
  }
  const base = Number(nano);
  return (positive ? base : -base) * goPow10(-9);
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= CH_0 && c <= CH_9;
}
