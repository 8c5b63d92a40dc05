import type * as CelLibrary from '@bufbuild/cel';
import { GoFloat64 } from '../../go/GoFloat64.ts';

/**
 * A direct evaluator for the everyday subset of CEL that metric configs use (`has()`, field
 * selection, `==`, `&&`, `?:`, literals, `timestamp()` and timestamp subtraction), run on the
 * object as JSON, with no conversion to CEL's value model.
 *
 * Why hand-written: @bufbuild/cel's planner converts each value to CEL's model and dispatches
 * through protobuf-style reflection, several times the cost of this per object, a large share of
 * a first sync's CPU (docs/benchmarks.md, "Figures behind the code").
 *
 * It never decides anything hard. Whenever a value or an operation is outside the happy path (a
 * missing field, a type mismatch, an odd timestamp, an int beyond 2^53, a list or map result,
 * anything that would be an error), it answers `DEFER` and the expression is evaluated by the
 * library, so results and error messages stay the library's. test/engine/celFastPath.test.ts
 * checks that on random expressions and objects: where this answers, it agrees with the library.
 */

/** "Ask the library": the value or operation is outside what this evaluator decides. */
export const DEFER: unique symbol = Symbol('defer');
export type Defer = typeof DEFER;

/** A CEL timestamp or duration: whole seconds and nanoseconds (the same sign, as protobuf's). */
class Instant {
  readonly duration: boolean;
  readonly seconds: number;
  readonly nanos: number;

  constructor(duration: boolean, seconds: number, nanos: number) {
    this.duration = duration;
    this.seconds = seconds;
    this.nanos = nanos;
  }

  /** As the bridge reports both: seconds, with the fraction from nanos (CelExpression's formula). */
  toSeconds(): number {
    return this.seconds + this.nanos / 1e9;
  }
}

/** A JSON value as read from the object, or a timestamp/duration made by the expression. */
type Value = string | number | boolean | null | GoFloat64 | Instant | object;

type Node = (object: unknown, self: unknown) => Value | Defer;

/** The result of a fast evaluation, in CelExpression's terms. */
export type FastOutcome =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };

type Expr = ReturnType<typeof CelLibrary.parse>['expr'];

/**
 * Compiles a parsed expression into the direct evaluator, or returns undefined when any part of
 * it is outside the subset (the library then evaluates it every time).
 */
export function compileFastPath(
  expr: Expr,
): ((object: unknown, self: unknown) => FastOutcome | Defer) | undefined {
  const root = compile(expr);
  if (!root) return undefined;
  return (object, self) => {
    const value = root(object, self);
    if (value === DEFER) return DEFER;
    switch (typeof value) {
      case 'string':
        return { kind: 'string', value };
      case 'boolean':
        return { kind: 'bool', value };
      case 'number':
        // CEL ints are int64: no negative zero.
        return { kind: 'number', value: value === 0 ? 0 : value };
    }
    if (value === null) return { kind: 'null' };
    if (value instanceof GoFloat64) return { kind: 'number', value: value.value };
    if (value instanceof Instant) return { kind: 'number', value: value.toSeconds() };
    return DEFER;
  };
}

function compile(expr: Expr): Node | undefined {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr': {
      const name = kind.value.name;
      if (name === 'object') return (object) => object as Value;
      if (name === 'self') return (_object, self) => self as Value;
      return undefined;
    }
    case 'constExpr': {
      const constant = kind.value.constantKind;
      switch (constant.case) {
        case 'stringValue':
        case 'boolValue': {
          const value = constant.value;
          return () => value;
        }
        case 'nullValue':
          return () => null;
        case 'int64Value': {
          const value = Number(constant.value);
          if (!Number.isSafeInteger(value)) return undefined;
          return () => value;
        }
        case 'doubleValue': {
          const value = new GoFloat64(constant.value);
          return () => value;
        }
        default:
          return undefined;
      }
    }
    case 'selectExpr': {
      const { operand, field, testOnly } = kind.value;
      if (!operand) return undefined;
      const of = compile(operand);
      if (!of) return undefined;
      return (object, self) => {
        const map = of(object, self);
        if (!isMap(map)) return DEFER;
        if (!Object.hasOwn(map, field)) return testOnly ? false : DEFER;
        // The library treats a null field as absent in has() (and tells it apart elsewhere).
        const value = (map as Record<string, unknown>)[field] as Value | undefined;
        if (value === null || value === undefined) return DEFER;
        return testOnly ? true : value;
      };
    }
    case 'callExpr': {
      const { function: fn, args, target } = kind.value;
      if (target) return undefined;
      const compiled = args.map(compile);
      if (compiled.some((a) => a === undefined)) return undefined;
      return call(fn, compiled as Node[]);
    }
    default:
      return undefined;
  }
}

function call(fn: string, args: Node[]): Node | undefined {
  const [a, b, c] = args;
  if (args.length === 1 && a) {
    if (fn === '!_')
      return (o, s) => {
        const v = a(o, s);
        return typeof v === 'boolean' ? !v : DEFER;
      };
    if (fn === 'timestamp')
      return (o, s) => {
        const v = a(o, s);
        return typeof v === 'string' ? parseTimestamp(v) : DEFER;
      };
    return undefined;
  }
  if (args.length === 3 && a && b && c && fn === '_?_:_')
    return (o, s) => {
      const condition = a(o, s);
      if (typeof condition !== 'boolean') return DEFER;
      return condition ? b(o, s) : c(o, s);
    };
  if (args.length !== 2 || !a || !b) return undefined;
  switch (fn) {
    case '_&&_':
    case '_||_': {
      // CEL's logic absorbs an error on the other side when one side decides (false && error is
      // false); deciding from the left alone gives the same value. Anything else defers.
      const decides = fn === '_||_';
      return (o, s) => {
        const left = a(o, s);
        if (typeof left !== 'boolean') return DEFER;
        if (left === decides) return decides;
        const right = b(o, s);
        return typeof right === 'boolean' ? right : DEFER;
      };
    }
    case '_==_':
    case '_!=_': {
      const negate = fn === '_!=_';
      return (o, s) => {
        const equal = equals(a(o, s), b(o, s));
        return equal === DEFER ? DEFER : equal !== negate;
      };
    }
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return (o, s) => {
        const left = a(o, s);
        const right = b(o, s);
        if (!sameNumberKind(left, right)) return DEFER;
        const [x, y] = [numberOf(left), numberOf(right)];
        return fn === '_<_' ? x < y : fn === '_<=_' ? x <= y : fn === '_>_' ? x > y : x >= y;
      };
    case '_-_':
      return (o, s) => {
        const left = a(o, s);
        const right = b(o, s);
        if (left instanceof Instant && right instanceof Instant && !left.duration && !right.duration)
          return subtract(left, right);
        return arithmetic(left, right, (x, y) => x - y);
      };
    case '_+_':
      return (o, s) => {
        const left = a(o, s);
        const right = b(o, s);
        if (typeof left === 'string' && typeof right === 'string') return left + right;
        return arithmetic(left, right, (x, y) => x + y);
      };
    case '_*_':
      return (o, s) => arithmetic(a(o, s), b(o, s), (x, y) => x * y);
    default:
      return undefined;
  }
}

/** A JSON mapping (CEL map); lists, numbers-as-objects and timestamps are not. */
function isMap(value: Value | Defer): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof GoFloat64) &&
    !(value instanceof Instant)
  );
}

/** A plain JS number is a CEL int when integral (as CelConversionCache converts it), else a double. */
function isInt(value: Value | Defer): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function isDouble(value: Value | Defer): boolean {
  return (typeof value === 'number' && !Number.isInteger(value)) || value instanceof GoFloat64;
}

function numberOf(value: Value | Defer): number {
  return value instanceof GoFloat64 ? value.value : (value as number);
}

function sameNumberKind(left: Value | Defer, right: Value | Defer): boolean {
  return (isInt(left) && isInt(right)) || (isDouble(left) && isDouble(right));
}

/** Same-kind arithmetic only; an int result past 2^53 (inexact here) defers. */
function arithmetic(
  left: Value | Defer,
  right: Value | Defer,
  op: (x: number, y: number) => number,
): Value | Defer {
  if (isInt(left) && isInt(right)) {
    const result = op(left, right);
    return Number.isSafeInteger(result) ? result : DEFER;
  }
  if (isDouble(left) && isDouble(right)) return new GoFloat64(op(numberOf(left), numberOf(right)));
  return DEFER;
}

/** Equality of scalars of one kind (numbers compare numerically, as CEL's do); anything else defers. */
function equals(left: Value | Defer, right: Value | Defer): boolean | Defer {
  if (left === DEFER || right === DEFER) return DEFER;
  if (typeof left === 'string' && typeof right === 'string') return left === right;
  if (typeof left === 'boolean' && typeof right === 'boolean') return left === right;
  if (left === null && right === null) return true;
  if (sameNumberKind(left, right)) return numberOf(left) === numberOf(right);
  return DEFER;
}

/**
 * CEL durations are int64 nanoseconds (±292 years); the library errors past that. Differences
 * anywhere near it defer.
 */
const DURATION_SECONDS_LIMIT = 9_000_000_000;

/** Timestamp difference, normalised as protobuf's Duration (nanos carry the sign of seconds). */
function subtract(left: Instant, right: Instant): Instant | Defer {
  let seconds = left.seconds - right.seconds;
  let nanos = left.nanos - right.nanos;
  if (seconds > 0 && nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  } else if (seconds < 0 && nanos > 0) {
    seconds += 1;
    nanos -= 1e9;
  }
  if (Math.abs(seconds) >= DURATION_SECONDS_LIMIT) return DEFER;
  return new Instant(true, seconds, nanos);
}

/**
 * The strict RFC 3339 form Kubernetes writes (`2026-02-09T10:00:00Z`, maybe with a fraction of
 * up to 9 digits): exactly `/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/`.
 * Offsets, lower-case letters, leap seconds and impossible dates defer. Read a character at a time
 * rather than with that regex: it runs for every timestamp of every object, and the regex with
 * its seven captures was several times slower (docs/benchmarks.md, "Figures behind the code").
 */
function parseTimestamp(text: string): Instant | Defer {
  const length = text.length;
  if (
    length < 20 ||
    length === 21 ||
    length > 30 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 /* - */ ||
    text.charCodeAt(10) !== 84 /* T */ ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58 /* : */ ||
    text.charCodeAt(length - 1) !== 90 /* Z */ ||
    (length > 20 && text.charCodeAt(19) !== 46) /* . */
  )
    return DEFER;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  // Any non-digit makes its field -1, which every range check below rejects.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return DEFER;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return DEFER;
  let nanos = 0;
  if (length > 20) {
    const fraction = digits(text, 20, length - 1);
    if (fraction < 0) return DEFER;
    nanos = fraction * 10 ** (30 - length);
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return new Instant(false, seconds, nanos);
}

/** The decimal number in text[from, to), or -1 if any of those characters is not 0–9. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
