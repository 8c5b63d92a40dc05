// Go's strconv.ParseFloat and strconv.Quote, bit for bit: the conversions and error texts
// kube-state-metrics' value conversion relies on.

/** Go's strconv.NumError: the message is Go's error text, verbatim. */
export class NumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NumError';
  }
}

/** The error Go's strconv.ParseFloat returns for `s`. */
export function parseFloatError(s: string, reason: string): NumError {
  return new NumError(`strconv.ParseFloat: parsing ${goQuote(s)}: ${reason}`);
}

function lower(c: number): number {
  return c | 0x20;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexLetter(c: number): boolean {
  const l = c | 0x20;
  return l >= 97 && l <= 102;
}

// Go's strconv.ParseFloat(s, 64) (internal/strconv/atof.go): special values, then the
// decimal or hexadecimal literal syntax with optional underscores, then correctly rounded
// conversion. Only reached for strings that are not quantities, so this is a cold path.
export function goParseFloat(s: string): number {
  const special = parseSpecial(s);
  if (special !== undefined) return special;

  const end = s.length;
  let i = 0;
  let neg = false;
  let c = s.charCodeAt(0);
  if (c === 43 /* + */) i++;
  else if (c === 45 /* - */) {
    neg = true;
    i++;
  }
  let hex = false;
  if (i + 2 < end && s.charCodeAt(i) === 48 && lower(s.charCodeAt(i + 1)) === 120 /* x */) {
    hex = true;
    i += 2;
  }
  const mantissaStart = i;
  let sawDot = false;
  let sawDigits = false;
  let underscores = false;
  for (; i < end; i++) {
    c = s.charCodeAt(i);
    if (c === 95 /* _ */) underscores = true;
    else if (c === 46 /* . */) {
      if (sawDot) break;
      sawDot = true;
    } else if (isDigitCode(c) || (hex && isHexLetter(c))) sawDigits = true;
    else break;
  }
  if (!sawDigits) throw parseFloatError(s, 'invalid syntax');
  const mantissaEnd = i;

  let exponentDigitsStart = -1;
  if (i < end && lower(s.charCodeAt(i)) === (hex ? 112 /* p */ : 101) /* e */) {
    i++;
    c = s.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    if (i >= end || !isDigitCode(s.charCodeAt(i))) throw parseFloatError(s, 'invalid syntax');
    exponentDigitsStart = i;
    for (; i < end; i++) {
      c = s.charCodeAt(i);
      if (c === 95) underscores = true;
      else if (!isDigitCode(c)) break;
    }
  } else if (hex) {
    throw parseFloatError(s, 'invalid syntax'); // a hex float needs its p exponent
  }
  if (i !== end || (underscores && !underscoreOK(s))) throw parseFloatError(s, 'invalid syntax');

  let value: number;
  if (hex) {
    value = hexFloat(s, mantissaStart, mantissaEnd, exponentDigitsStart);
    if (neg) value = -value;
  } else {
    // Without underscores the syntax is a subset of what Number() accepts, and both round
    // correctly.
    value = Number(underscores ? s.replaceAll('_', '') : s);
  }
  if (value === Infinity || value === -Infinity) throw parseFloatError(s, 'value out of range');
  return value;
}

// Go's special(): "NaN" (no sign) and "Inf"/"Infinity" (optional sign), any case. A match
// that leaves characters over is a syntax error, not a retry as a number.
function parseSpecial(s: string): number | undefined {
  let i = 0;
  let sign = 1;
  const c = s.charCodeAt(0);
  if (c === 43 || c === 45) {
    sign = c === 45 ? -1 : 1;
    i = 1;
  } else if (lower(c) === 110 /* n */) {
    if (lower(s.charCodeAt(1)) === 97 /* a */ && lower(s.charCodeAt(2)) === 110) {
      if (s.length === 3) return NaN;
      throw parseFloatError(s, 'invalid syntax');
    }
    return undefined;
  } else if (lower(c) !== 105 /* i */) {
    return undefined;
  }
  const word = 'infinity';
  let n = 0;
  while (n < 8 && i + n < s.length && lower(s.charCodeAt(i + n)) === word.charCodeAt(n)) n++;
  if (n > 3 && n < 8) n = 3;
  if (n !== 3 && n !== 8) return undefined;
  if (i + n !== s.length) throw parseFloatError(s, 'invalid syntax');
  return sign * Infinity;
}

// Go's underscoreOK: an underscore must sit between digits (a base prefix counts as one).
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  const c0 = s.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  let hex = false;
  if (s.length - i >= 2 && s.charCodeAt(i) === 48) {
    const p = lower(s.charCodeAt(i + 1));
    if (p === 98 || p === 111 || p === 120) {
      i += 2;
      saw = '0';
      hex = p === 120;
    }
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigitCode(c) || (hex && isHexLetter(c))) {
      saw = '0';
      continue;
    }
    if (c === 95) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

// Value of the hex digits in s[start, end) (with at most one '.') times 2^exponent, rounded
// to nearest-even as Go's atofHex does (it keeps a sticky bit, so the result is the
// correctly rounded one). Returns Infinity on overflow.
function hexFloat(s: string, start: number, end: number, expStart: number): number {
  let mantissa = 0n;
  let fractionDigits = 0;
  let afterDot = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 95) continue;
    if (c === 46) {
      afterDot = true;
      continue;
    }
    const d = isDigitCode(c) ? c - 48 : lower(c) - 87;
    mantissa = mantissa * 16n + BigInt(d);
    if (afterDot) fractionDigits++;
  }
  if (mantissa === 0n) return 0;
  let exp = 0;
  const expSign = s.charCodeAt(expStart - 1) === 45 ? -1 : 1;
  for (let i = expStart; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Go stops accumulating at 10000; the result is ±Inf or 0 long before that matters.
    if (c !== 95 && exp < 10000) exp = exp * 10 + (c - 48);
  }
  const binaryExp = expSign * exp - 4 * fractionDigits;

  const bits = mantissa.toString(2).length;
  const top = bits - 1 + binaryExp; // exponent of the leading bit
  if (top > 1023) return Infinity;
  if (top < -1075) return 0;
  // 53 significant bits for normal numbers, fewer below 2^-1022 (subnormals).
  const keep = top >= -1022 ? 53 : 53 - (-1022 - top);
  const drop = bits - keep;
  let q = mantissa;
  let e2 = binaryExp;
  if (drop > 0) {
    const shift = BigInt(drop);
    q = mantissa >> shift;
    const rem = mantissa - (q << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    e2 += drop;
  }
  // q * 2^e2 is representable (or overflows after rounding up); 2^e2 >= 2^-1074 is exact.
  return Number(q) * 2 ** e2;
}

// Go's strconv.Quote as used by NumError: printable runes as is, the C escapes, \x for
// other ASCII controls, \u / \U for other non-printable runes. Lone surrogates cannot come
// from Go (its JSON decoder turns them into U+FFFD), so they are shown as U+FFFD.
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0) as number;
    if (r === 34) out += '\\"';
    else if (r === 92) out += '\\\\';
    else if (r >= 0x20 && r < 0x7f) out += ch;
    else if (r < 0x80) out += asciiEscape(r);
    else if (r >= 0xd800 && r <= 0xdfff) out += '\ufffd';
    else if (GO_PRINTABLE.test(ch)) out += ch;
    else if (r < 0x10000) out += '\\u' + r.toString(16).padStart(4, '0');
    else out += '\\U' + r.toString(16).padStart(8, '0');
  }
  return out + '"';
}

// unicode.IsPrint beyond ASCII: letters, marks, numbers, punctuation and symbols (no spaces).
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function asciiEscape(r: number): string {
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 9:
      return '\\t';
    case 10:
      return '\\n';
    case 11:
      return '\\v';
    case 12:
      return '\\f';
    case 13:
      return '\\r';
    default:
      return '\\x' + r.toString(16).padStart(2, '0');
  }
}
