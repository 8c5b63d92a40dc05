import { createRequire } from 'node:module';
import type * as CelLibrary from '@bufbuild/cel';
import type * as CelExtensions from '@bufbuild/cel/ext';
import { GoFloat64 } from '../../go/GoFloat64.ts';
import { compileFastPath, DEFER } from './CelFastPath.ts';
import type { FastOutcome } from './CelFastPath.ts';
import { CEL_DEADLINE_MS, checkCost, costFunctions, estimateCost, instrument, meter } from './CelCost.ts';
import type { CostFinding, CostPolynomial } from './CelCost.ts';
import { formatGoFloat } from '../../go/goFormat.ts';
import { DEFAULT_LIMITS, LimitExceeded } from '../limits.ts';

interface CelRuntime {
  readonly lib: typeof CelLibrary;
  readonly env: CelLibrary.CelEnv;
}

let runtime: CelRuntime | undefined;
/**
 * Loads @bufbuild/cel on the first expression: it is the largest module a `check` or `render` loads,
 * and most configs have no CEL. In dist/ (the esbuild bundle, scripts/build.js) the library and its
 * extensions are bundled entries beside this file, one file each instead of ~130 modules.
 */
function cel(): CelRuntime {
  if (!runtime) {
    const require = createRequire(import.meta.url);
    const bundled = !import.meta.url.endsWith('.ts');
    const lib = require(bundled ? './bufbuild-cel.js' : '@bufbuild/cel') as typeof CelLibrary;
    const { strings } = require(
      bundled ? './bufbuild-cel-ext.js' : '@bufbuild/cel/ext',
    ) as typeof CelExtensions;
    runtime = { lib, env: lib.celEnv({ funcs: [...strings, ...costFunctions(lib)] }) };
  }
  return runtime;
}

/** A CEL runtime failure for one object (missing field, wrong type, ...). */
export class CelEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelEvaluationError';
  }
}

/** What an expression evaluated to, reduced to the few shapes a metric can use. */
export type CelOutcome =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };

interface ProtoLike {
  readonly desc?: { readonly typeName?: string };
  readonly message?: { readonly seconds?: bigint; readonly nanos?: number };
}

/**
 * A CEL expression compiled once from the config (with @bufbuild/cel, which passes the cel-spec
 * conformance suite) and evaluated when an object changes. Variables: `object` is the whole
 * object, `self` the element under the metric's `path` (the object itself when there is none).
 * Integers in the object are CEL `int`, as in Kubernetes' own CEL; other numbers are `double`.
 * Each evaluation has a cost budget (CelCost.ts); one over it throws LimitExceeded, and the object
 * is dropped whole.
 */
export class CelExpression {
  readonly source: string;
  /** The budget of one evaluation (`limits.celCost`; 0 is unlimited). */
  readonly costLimit: number;
  private readonly _program: (vars: Record<string, unknown>) => unknown;
  /** The direct evaluator (CelFastPath.ts), when the expression is in its subset. */
  private readonly _fast: ((object: unknown, self: unknown) => FastOutcome | typeof DEFER) | undefined;
  /** What every evaluation costs before any loop: the nodes outside comprehensions. */
  private readonly _staticCost: number;
  private readonly _estimate: CostPolynomial;

  /**
   * Throws with the parser's message when the expression does not compile.
   * @param options.fastPath evaluate the everyday subset directly (CelFastPath.ts); @default true
   * @param options.costLimit the budget of one evaluation; @default DEFAULT_LIMITS.celCost
   */
  constructor(source: string, options: { fastPath?: boolean; costLimit?: number } = {}) {
    this.source = source;
    this.costLimit = options.costLimit ?? DEFAULT_LIMITS.celCost;
    const { lib, env } = cel();
    const parsed = lib.parse(source);
    this._fast = options.fastPath === false ? undefined : compileFastPath(parsed.expr);
    // Estimated on the expression as written, then instrumented for the runtime budget.
    this._estimate = parsed.expr ? estimateCost(parsed.expr) : [1];
    this._staticCost = parsed.expr ? instrument(parsed.expr) : 1;
    this._program = lib.plan(env, parsed) as (vars: Record<string, unknown>) => unknown;
  }

  /** What `check` says about the estimated cost under the given budget (CelCost.ts, checkCost). */
  costFinding(limit = this.costLimit): CostFinding | undefined {
    return checkCost(this._estimate, limit);
  }

  /**
   * Evaluates the expression for one element. Throws CelEvaluationError when CEL fails, and
   * LimitExceeded (`celCost`) when the evaluation goes over its budget or its CPU-time deadline.
   */
  evaluate(object: unknown, self: unknown, conversions: CelConversionCache): CelOutcome {
    const limit = this.costLimit;
    // The fast path evaluates no loops: its cost is the static cost, checked here for both paths.
    if (limit > 0 && this._staticCost > limit) throw this._overBudget('cost');
    if (this._fast) {
      const outcome = this._fast(object, self);
      if (outcome !== DEFER) return outcome;
    }
    meter.begin(limit, this._staticCost);
    let result: unknown;
    try {
      result = this._program({ object: conversions.convert(object), self: conversions.convert(self) });
    } catch (err) {
      throw new CelEvaluationError((err as Error).message);
    }
    // Checked before the result: an expression may swallow the hook's error (`a || b`, `?:`).
    if (meter.exceeded) throw this._overBudget(meter.exceeded);
    if (cel().lib.isCelError(result)) throw new CelEvaluationError(result.message);
    switch (typeof result) {
      case 'number':
        return { kind: 'number', value: result };
      case 'bigint':
        return { kind: 'number', value: Number(result) };
      case 'string':
        return { kind: 'string', value: result };
      case 'boolean':
        return { kind: 'bool', value: result };
      default:
        break;
    }
    if (result === null || result === undefined) return { kind: 'null' };
    const proto = result as ProtoLike;
    const typeName = proto.desc?.typeName;
    if (typeName === 'google.protobuf.Timestamp' || typeName === 'google.protobuf.Duration') {
      const seconds = Number(proto.message?.seconds ?? 0n) + (proto.message?.nanos ?? 0) / 1e9;
      return { kind: 'number', value: seconds };
    }
    throw new CelEvaluationError(
      `expression returned a ${typeName ?? 'list or map'}, expected a number, string or bool`,
    );
  }

  private _overBudget(reason: 'cost' | 'time'): LimitExceeded {
    const expression = this.source.length > 200 ? `${this.source.slice(0, 200)}…` : this.source;
    const why =
      reason === 'cost'
        ? `costs more than ${this.costLimit} (limits.celCost)`
        : `ran for more than ${CEL_DEADLINE_MS} ms of CPU time (the deadline of one evaluation)`;
    return new LimitExceeded('celCost', '*', `CEL expression ${expression} ${why}; object dropped whole`);
  }
}

/** Turns an outcome into a label value (Go-style number formatting, `true`/`false`). */
export function outcomeToLabel(outcome: CelOutcome): string | undefined {
  switch (outcome.kind) {
    case 'string':
      return outcome.value;
    case 'bool':
      return outcome.value ? 'true' : 'false';
    case 'number':
      return Number.isInteger(outcome.value) ? String(outcome.value) : formatGoFloat(outcome.value);
    case 'null':
      return undefined;
  }
}

/**
 * Converts an object to CEL's value model once per object event, however many expressions read
 * it, and only as far as they read: integers become bigint (CEL int), arrays are converted one
 * level at a time, and a mapping becomes an `ObjectMap`, whose fields are converted when an
 * expression reads them. (Converting the whole object up front, managedFields included, was most
 * of the CEL cost per object.)
 */
export class CelConversionCache {
  /** Made on the first conversion: most objects only meet the fast path (CelFastPath.ts). */
  private _done: WeakMap<object, unknown> | undefined;

  convert(value: unknown): unknown {
    if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
    if (value instanceof GoFloat64) return value.value;
    if (typeof value !== 'object' || value === null) return value ?? null;
    this._done ??= new WeakMap();
    const cached = this._done.get(value);
    if (cached !== undefined) return cached;
    const converted = Array.isArray(value)
      ? value.map((item) => this.convert(item))
      : new ObjectMap(value as Record<string, unknown>, this);
    this._done.set(value, converted);
    return converted;
  }
}

/**
 * A JSON mapping seen as the `Map` CEL's runtime accepts (it wraps any `Map` and reads it through
 * get/has/size/keys/entries/values/forEach), converting each field on access. Holds no entries
 * of its own.
 */
class ObjectMap extends Map<unknown, unknown> {
  private readonly _raw: Record<string, unknown>;
  private readonly _conversions: CelConversionCache;

  constructor(raw: Record<string, unknown>, conversions: CelConversionCache) {
    super();
    this._raw = raw;
    this._conversions = conversions;
  }

  override get size(): number {
    return Object.keys(this._raw).length;
  }

  override get(key: unknown): unknown {
    if (typeof key !== 'string' || !Object.hasOwn(this._raw, key)) return undefined;
    return this._conversions.convert(this._raw[key]);
  }

  override has(key: unknown): boolean {
    return typeof key === 'string' && Object.hasOwn(this._raw, key);
  }

  override keys(): MapIterator<unknown> {
    return Object.keys(this._raw)[Symbol.iterator]();
  }

  override *entries(): MapIterator<[unknown, unknown]> {
    for (const key of Object.keys(this._raw)) yield [key, this.get(key)];
  }

  override *values(): MapIterator<unknown> {
    for (const key of Object.keys(this._raw)) yield this.get(key);
  }

  override forEach(
    callback: (value: unknown, key: unknown, map: Map<unknown, unknown>) => void,
    thisArg?: unknown,
  ): void {
    for (const key of Object.keys(this._raw)) callback.call(thisArg, this.get(key), key, this);
  }

  override [Symbol.iterator](): MapIterator<[unknown, unknown]> {
    return this.entries();
  }
}
