import { createRequire } from 'node:module';
import type * as CelLibrary from '@bufbuild/cel';

/** A field path read by an expression: its root variable (`object` or `self`) then field names. */
export type FieldPath = readonly string[];

type Expr = ReturnType<typeof CelLibrary.parse>['expr'];

let parse: typeof CelLibrary.parse | undefined;
/** The library's parser, loaded as CelExpression.ts loads it (a bundled entry beside us in dist/). */
function parser(): typeof CelLibrary.parse {
  if (!parse) {
    const require = createRequire(import.meta.url);
    const bundled = !import.meta.url.endsWith('.ts');
    parse = (require(bundled ? './bufbuild-cel.js' : '@bufbuild/cel') as typeof CelLibrary).parse;
  }
  return parse;
}

/**
 * The fields that must be present in the object for the expression to be able to evaluate to
 * true (`forTrue`), or to evaluate without an error (`forValue`). When one is absent, a rule can
 * skip the CEL evaluation: most rules do not apply to most objects because a field they read is
 * missing, and the library reports that with an exception, which costs far more than looking.
 *
 * Sound by construction, per CEL's semantics: a select of an absent field is an error; errors
 * pass through strict operators and functions; `a && b` is true only when both are, `a || b` when
 * either is (so only fields both need count); `!a` is true only when `a` is false, not an error;
 * `has(e.f)` needs `e`, and is true only when `e.f` is there; a comprehension needs its range.
 * Anything else adds no requirement, which is always safe (the rule is then just evaluated).
 */
export function requiredFields(source: string): { forTrue: FieldPath[]; forValue: FieldPath[] } {
  const expr = parser()(source).expr;
  if (!expr) return { forTrue: [], forValue: [] };
  const { onTrue, onValue } = analyse(expr);
  return { forTrue: minimal(onTrue), forValue: minimal(onValue) };
}

interface Needs {
  /** Absent → the expression is an error. */
  readonly onValue: FieldPath[];
  /** Absent → the expression is an error or false. */
  readonly onTrue: FieldPath[];
}

const NONE: Needs = { onValue: [], onTrue: [] };

function analyse(expr: Expr): Needs {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'selectExpr': {
      const { operand, field, testOnly } = kind.value;
      if (!operand) return NONE;
      const path = selectPath(operand);
      if (testOnly) {
        // has(e.f): an error without e, false without e.f.
        const inner = path ? [path] : analyse(operand).onValue;
        return { onValue: inner, onTrue: path ? [path, [...path, field]] : inner };
      }
      const full = selectPath(expr);
      if (full) return { onValue: [full], onTrue: [full] };
      const inner = analyse(operand).onValue;
      return { onValue: inner, onTrue: inner };
    }
    case 'callExpr': {
      const { function: fn, args, target } = kind.value;
      const parts = [...(target ? [target] : []), ...args].map(analyse);
      if (fn === '_&&_')
        return { onValue: intersect(parts.map((p) => p.onValue)), onTrue: parts.flatMap((p) => p.onTrue) };
      if (fn === '_||_')
        return {
          onValue: intersect(parts.map((p) => p.onValue)),
          onTrue: intersect(parts.map((p) => p.onTrue)),
        };
      if (fn === '!_') {
        const inner = parts[0]?.onValue ?? [];
        return { onValue: inner, onTrue: inner };
      }
      if (fn === '_?_:_') {
        const [c, a, b] = parts;
        if (!c || !a || !b) return NONE;
        return {
          onValue: [...c.onValue, ...intersect([a.onValue, b.onValue])],
          onTrue: [...c.onValue, ...intersect([a.onTrue, b.onTrue])],
        };
      }
      // Internal helpers of the macros are not strict.
      if (fn.startsWith('@')) return NONE;
      const strict = parts.flatMap((p) => p.onValue);
      return { onValue: strict, onTrue: strict };
    }
    case 'comprehensionExpr': {
      const range = kind.value.iterRange;
      const inner = range ? analyse(range).onValue : [];
      return { onValue: inner, onTrue: inner };
    }
    case 'listExpr': {
      const strict = kind.value.elements.flatMap((e) => analyse(e).onValue);
      return { onValue: strict, onTrue: strict };
    }
    default:
      return NONE;
  }
}

/** `object.a.b` → ['object', 'a', 'b']; undefined when the chain does not start at object or self. */
function selectPath(expr: Expr): string[] | undefined {
  const kind = expr.exprKind;
  if (kind.case === 'identExpr')
    return kind.value.name === 'object' || kind.value.name === 'self' ? [kind.value.name] : undefined;
  if (kind.case === 'selectExpr' && !kind.value.testOnly && kind.value.operand) {
    const inner = selectPath(kind.value.operand);
    return inner ? [...inner, kind.value.field] : undefined;
  }
  return undefined;
}

const key = (path: FieldPath) => path.join('\u0000');

/** The paths every list requires (requiring `a.b.c` requires `a.b` too). */
function intersect(lists: FieldPath[][]): FieldPath[] {
  if (lists.length === 0) return [];
  const [first, ...rest] = lists as [FieldPath[], ...FieldPath[][]];
  const candidates = first.flatMap((p) => p.slice(1).map((_, i) => p.slice(0, i + 2)));
  return candidates.filter((p) => rest.every((list) => list.some((q) => covers(q, p))));
}

/** Whether requiring `q` implies requiring `p` (p is q or one of its prefixes). */
function covers(q: FieldPath, p: FieldPath): boolean {
  return p.length <= q.length && p.every((part, i) => part === q[i]);
}

/** Deduplicated, without the bare variables (always there), and without paths a longer one implies. */
function minimal(paths: FieldPath[]): FieldPath[] {
  const unique = [...new Map(paths.filter((p) => p.length > 1).map((p) => [key(p), p])).values()];
  return unique.filter((p) => !unique.some((q) => q !== p && q.length > p.length && covers(q, p)));
}

/** Whether every path is present: each step a mapping that has the field (its value may be null). */
export function fieldsPresent(paths: readonly FieldPath[], object: unknown, self: unknown): boolean {
  for (const path of paths) {
    let value: unknown = path[0] === 'self' ? self : object;
    for (let i = 1; i < path.length; i++) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const field = path[i]!;
      if (!Object.hasOwn(value, field)) return false;
      value = (value as Record<string, unknown>)[field];
    }
  }
  return true;
}
