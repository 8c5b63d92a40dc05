import type * as CelLibrary from '@bufbuild/cel';

/**
 * The cost of a CEL expression, in Kubernetes' unit: one per expression node evaluated, plus the
 * length of every list a comprehension iterates or `in` scans, plus a tenth of the length of every
 * string a named function (`lowerAscii`, `matches`, `split`, `int`...) is given, charged before
 * the call (Kubernetes' traversal factor). @bufbuild/cel 0.x has no cost tracking, interrupt or
 * evaluation limit, so the parsed expression is instrumented before it is planned: those operands,
 * and each comprehension's loop condition, are wrapped in calls to hooks that charge the running
 * evaluation's meter. Work beyond the expression's own size comes only from loops, from scanning a
 * list and from walking a string, and each passes a hook before it is done, so counting there
 * bounds it. The count is deterministic (the same object always costs the same), as Kubernetes'
 * and resource-state-metrics' budgets are; a CPU-time deadline, checked in the same hooks, catches
 * what the count cannot see (deep equality of large lists, say).
 */

export type Expr = NonNullable<ReturnType<typeof CelLibrary.parse>['expr']>;

/**
 * Hook names. `@` cannot appear in a CEL identifier, so no expression can call (or shadow) them;
 * the library's own `@not_strictly_false` is named the same way.
 */
const STEP = '@cost_step';
const RANGE = '@cost_range';
const SCAN = '@cost_scan';
const TEXT = '@cost_text';

/** Kubernetes' cost of walking a string: a tenth of a unit per character. */
const TEXT_COST_FACTOR = 0.1;

/** No evaluation holds the event loop longer than this much CPU time (give or take a few turns). */
export const CEL_DEADLINE_MS = 100;
/**
 * An evaluation shorter than this in wall time reads no CPU clock (a system call of a few µs, as
 * much as a small loop costs). Until then its CPU time is taken to be at most this much: the error
 * is the few turns since the clock was last read.
 */
const CPU_MARK_MS = 5;
/**
 * The wall clock is read on every 4th charge (a loop turn costs several clock reads), and on every
 * charge once the CPU clock is being read, so that long turns overshoot by one turn at most.
 */
const CHECK_MASK = 3;

/** Thrown inside the library by a hook, which turns it into a CEL error; `meter.exceeded` says why. */
const STOP = new Error('CEL cost budget exceeded');

/** The clocks a meter reads, in ms: wall time (monotonic) and this thread's CPU time. */
export interface MeterClocks {
  readonly wall: () => number;
  readonly cpu: () => number;
}

const SYSTEM_CLOCKS: MeterClocks = { wall: () => performance.now(), cpu: threadCpuMs };

/**
 * The running account of one evaluation (evaluations are synchronous: one meter serves all). The
 * deadline is in CPU time, so that an evaluation does not fail because the machine is busy: the
 * cheap wall clock says when the CPU clock is worth reading. The wall clock starts with the first
 * loop: an expression without one is bounded by its cost alone, and reads no clock.
 */
export class CostMeter {
  /** Why the running evaluation was stopped; its result, if any, is then discarded. */
  exceeded: 'cost' | 'time' | undefined;
  private readonly _clocks: MeterClocks;
  private _limit = Infinity;
  private _deadline = false;
  private _spent = 0;
  private _charges = 0;
  private _mask = CHECK_MASK;
  /** Wall time when the first loop started; -1 before. */
  private _wallStart = -1;
  /** The CPU clock when it was first read (-1 before), and the CPU time counted before that. */
  private _cpuMark = -1;
  private _cpuBeforeMark = 0;
  /** Wall time (since the start) before which the CPU time cannot have reached the deadline. */
  private _nextCheck = CPU_MARK_MS;

  constructor(clocks: MeterClocks = SYSTEM_CLOCKS) {
    this._clocks = clocks;
  }

  /** Starts an evaluation whose nodes outside loops cost `initial`; `limit` 0 is unlimited. */
  begin(limit: number, initial: number): void {
    this.exceeded = undefined;
    this._limit = limit > 0 ? limit : Infinity;
    this._deadline = limit > 0;
    this._spent = initial;
    this._charges = 0;
    this._mask = CHECK_MASK;
    this._wallStart = -1;
    this._cpuMark = -1;
    this._nextCheck = CPU_MARK_MS;
  }

  get spent(): number {
    return this._spent;
  }

  /** A loop starts: the wall clock starts with the evaluation's first. */
  startLoop(): void {
    if (this._wallStart < 0 && this._deadline) this._wallStart = this._clocks.wall();
  }

  charge(cost: number): void {
    // Once stopped, every further loop turn stops at once: each comprehension still running
    // ends at its next turn, whatever the expression does with the error.
    if (this.exceeded !== undefined) throw STOP;
    this._spent += cost;
    if (this._spent > this._limit) {
      this.exceeded = 'cost';
      throw STOP;
    }
    if (this._wallStart >= 0 && (++this._charges & this._mask) === 0) this._checkTime();
  }

  private _checkTime(): void {
    const wall = this._clocks.wall() - this._wallStart;
    if (wall < this._nextCheck) return;
    if (this._cpuMark < 0) {
      // The wall time so far may include time the thread was preempted, which must not count.
      this._cpuMark = this._clocks.cpu();
      this._cpuBeforeMark = Math.min(wall, CPU_MARK_MS);
      this._nextCheck = wall + CEL_DEADLINE_MS - this._cpuBeforeMark;
      this._mask = 0;
      return;
    }
    const cpu = this._clocks.cpu() - this._cpuMark + this._cpuBeforeMark;
    if (cpu >= CEL_DEADLINE_MS) {
      this.exceeded = 'time';
      throw STOP;
    }
    // The thread was preempted or throttled: the wall clock ran ahead of its CPU time.
    this._nextCheck = wall + (CEL_DEADLINE_MS - cpu);
  }
}

function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

export const meter = new CostMeter();

/** The hooks, to be added to the library's environment. */
export function costFunctions(lib: typeof CelLibrary): CelLibrary.CelFunc[] {
  const { celFunc, CelScalar, isCelList, isCelMap } = lib;
  const { DYN, INT } = CelScalar;
  return [
    // Every loop turn: the condition's value passes through, the turn's nodes are charged.
    celFunc(STEP, [DYN, INT], DYN, (condition, cost) => {
      meter.charge(Number(cost));
      return condition;
    }),
    // The range a comprehension copies before it iterates, whether it then iterates all of it.
    celFunc(RANGE, [DYN], DYN, (range) => {
      meter.startLoop();
      if (isCelList(range) || isCelMap(range)) meter.charge(range.size);
      return range;
    }),
    // The list `in` scans (a map lookup costs no more than a node).
    celFunc(SCAN, [DYN], DYN, (list) => {
      if (isCelList(list)) meter.charge(list.size);
      return list;
    }),
    // A named function's operand: a string is walked (rounded up, so that no call is free).
    celFunc(TEXT, [DYN], DYN, (operand) => {
      if (typeof operand === 'string' && operand.length > 0) meter.charge(textCost(operand.length));
      return operand;
    }),
  ];
}

function hook(name: string, args: Expr[]): Expr {
  return {
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: name, args } },
  };
}

function intConstant(value: number): Expr {
  return {
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: {
      case: 'constExpr',
      value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: BigInt(value) } },
    },
  };
}

/**
 * Instruments `expr` in place (see the top of this file) and returns its static cost: the nodes
 * evaluated once per evaluation, outside every loop, which the evaluation is charged up front.
 * Each loop turn is charged its own nodes (the turn, its condition and its step), nested
 * comprehensions charging their own turns.
 */
export function instrument(expr: Expr): number {
  return new Instrumenter(expr).cost;
}

/** A function written with a name (`size`, `x.lowerAscii()`), not an operator (`_==_`, `@in`). */
const NAMED_FUNCTION = /^[A-Za-z]/;

class Instrumenter {
  readonly cost: number;
  /** Identifiers that hold values: a call on anything else (`strings.quote`) names a namespace. */
  private readonly _variables = new Set(['object', 'self']);

  constructor(expr: Expr) {
    collectLoopVariables(expr, this._variables);
    this.cost = this._visit(expr);
  }

  private _visit(expr: Expr): number {
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'identExpr':
      case 'constExpr':
        return 1;
      case 'selectExpr':
        return 1 + (kind.value.operand ? this._visit(kind.value.operand) : 0);
      case 'callExpr': {
        const call = kind.value;
        let cost = 1 + (call.target ? this._visit(call.target) : 0);
        for (const arg of call.args) cost += this._visit(arg);
        const list = call.args[1];
        if (call.function === '@in' && call.args.length === 2 && list) call.args[1] = hook(SCAN, [list]);
        if (NAMED_FUNCTION.test(call.function)) {
          // A literal's length is known: charged with the nodes instead of by a hook.
          cost += literalTextCost(call);
          call.args = call.args.map((arg) => (isConstant(arg) ? arg : hook(TEXT, [arg])));
          const target = call.target;
          if (target && !isConstant(target) && !this._namesNamespace(target))
            call.target = hook(TEXT, [target]);
        }
        return cost;
      }
      case 'listExpr': {
        let cost = 1;
        for (const element of kind.value.elements) cost += this._visit(element);
        return cost;
      }
      case 'structExpr': {
        let cost = 1;
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') cost += this._visit(entry.keyKind.value);
          if (entry.value) cost += this._visit(entry.value);
        }
        return cost;
      }
      case 'comprehensionExpr': {
        const c = kind.value;
        let cost = 1;
        for (const part of [c.iterRange, c.accuInit, c.result]) if (part) cost += this._visit(part);
        let turn = 1;
        for (const part of [c.loopCondition, c.loopStep]) if (part) turn += this._visit(part);
        if (c.iterRange) c.iterRange = hook(RANGE, [c.iterRange]);
        if (c.loopCondition) c.loopCondition = hook(STEP, [c.loopCondition, intConstant(turn)]);
        return cost;
      }
      default:
        return 1;
    }
  }

  private _namesNamespace(target: Expr): boolean {
    return target.exprKind.case === 'identExpr' && !this._variables.has(target.exprKind.value.name);
  }
}

function isConstant(expr: Expr): boolean {
  return expr.exprKind.case === 'constExpr';
}

function textCost(length: number): number {
  return Math.ceil(length * TEXT_COST_FACTOR);
}

/** What the string literals among a named function's operands cost (they are not hooked). */
function literalTextCost(call: { target?: Expr | undefined; args: Expr[] }): number {
  let cost = 0;
  for (const operand of call.target ? [call.target, ...call.args] : call.args) {
    const kind = operand.exprKind;
    if (kind.case === 'constExpr' && kind.value.constantKind.case === 'stringValue')
      cost += textCost(kind.value.constantKind.value.length);
  }
  return cost;
}

function collectLoopVariables(expr: Expr, into: Set<string>): void {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      if (kind.value.operand) collectLoopVariables(kind.value.operand, into);
      return;
    case 'callExpr':
      if (kind.value.target) collectLoopVariables(kind.value.target, into);
      for (const arg of kind.value.args) collectLoopVariables(arg, into);
      return;
    case 'listExpr':
      for (const element of kind.value.elements) collectLoopVariables(element, into);
      return;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') collectLoopVariables(entry.keyKind.value, into);
        if (entry.value) collectLoopVariables(entry.value, into);
      }
      return;
    case 'comprehensionExpr': {
      const c = kind.value;
      for (const name of [c.iterVar, c.iterVar2, c.accuVar]) if (name !== '') into.add(name);
      for (const part of [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result])
        if (part) collectLoopVariables(part, into);
      return;
    }
    default:
      return;
  }
}

/**
 * The estimated cost of an expression as a polynomial in n, the length of every list and map of
 * the object it iterates (coefficient i of n^i): the cost `instrument` charges when every range
 * that is not a literal has n elements (and every `in` scans n). Kubernetes estimates the same
 * way, with n bounded by a schema's maxItems; custom resources here come with no schema, so the
 * estimate is a function of n.
 */
export type CostPolynomial = readonly number[];

export function estimateCost(expr: Expr): CostPolynomial {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr':
    case 'constExpr':
      return [1];
    case 'selectExpr':
      return add([1], kind.value.operand ? estimateCost(kind.value.operand) : []);
    case 'callExpr': {
      const call = kind.value;
      let cost = add([1], call.target ? estimateCost(call.target) : []);
      for (const arg of call.args) cost = add(cost, estimateCost(arg));
      const list = call.args[1];
      if (call.function === '@in' && list) cost = add(cost, rangeLength(list));
      // Strings read from the object are left out: their length has nothing to do with n.
      if (NAMED_FUNCTION.test(call.function)) cost = add(cost, [literalTextCost(call)]);
      return cost;
    }
    case 'listExpr':
      return kind.value.elements.reduce((cost, e) => add(cost, estimateCost(e)), [1] as CostPolynomial);
    case 'structExpr': {
      let cost: CostPolynomial = [1];
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') cost = add(cost, estimateCost(entry.keyKind.value));
        if (entry.value) cost = add(cost, estimateCost(entry.value));
      }
      return cost;
    }
    case 'comprehensionExpr': {
      const c = kind.value;
      let cost: CostPolynomial = [1];
      for (const part of [c.iterRange, c.accuInit, c.result]) if (part) cost = add(cost, estimateCost(part));
      let turn: CostPolynomial = [1];
      for (const part of [c.loopCondition, c.loopStep]) if (part) turn = add(turn, estimateCost(part));
      const length = c.iterRange ? rangeLength(c.iterRange) : [0];
      // The range is charged once, then each of its elements a turn.
      return add(cost, multiply(length, add([1], turn)));
    }
    default:
      return [1];
  }
}

/** A literal's own length; anything else is read from the object: n. */
function rangeLength(range: Expr): CostPolynomial {
  const kind = range.exprKind;
  if (kind.case === 'listExpr') return [kind.value.elements.length];
  if (kind.case === 'structExpr') return [kind.value.entries.length];
  return [0, 1];
}

function add(a: CostPolynomial, b: CostPolynomial): CostPolynomial {
  const out = new Array<number>(Math.max(a.length, b.length)).fill(0);
  a.forEach((x, i) => (out[i]! += x));
  b.forEach((x, i) => (out[i]! += x));
  return out;
}

function multiply(a: CostPolynomial, b: CostPolynomial): CostPolynomial {
  const out = new Array<number>(Math.max(0, a.length + b.length - 1)).fill(0);
  a.forEach((x, i) => b.forEach((y, j) => (out[i + j]! += x * y)));
  return out;
}

export function costAt(p: CostPolynomial, n: number): number {
  return p.reduceRight((sum, coefficient) => sum * n + coefficient, 0);
}

function degree(p: CostPolynomial): number {
  for (let i = p.length - 1; i > 0; i--) if (p[i] !== 0) return i;
  return 0;
}

/**
 * Where `check` draws its lines: an expression over the budget for objects whose lists have
 * ERROR_LENGTH elements would fail on almost every object (an error); one over the budget for
 * LONG_LENGTH elements fails on large objects only (a warning). Most lists in custom resources
 * (conditions, ports, replicas' statuses) are far shorter than a thousand elements; a thousand is
 * also half the default `objectSeries`, the size of object the series limits let through.
 */
export const ERROR_LENGTH = 10;
export const LONG_LENGTH = 1_000;

export interface CostFinding {
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/** What `check` says about an expression's estimated cost under `limit` (0: unlimited). */
export function checkCost(estimate: CostPolynomial, limit: number): CostFinding | undefined {
  if (limit <= 0) return undefined;
  const d = degree(estimate);
  const budget = `limits.celCost (${limit})`;
  if (costAt(estimate, ERROR_LENGTH) > limit) {
    const where = d === 0 ? '' : ` for an object whose lists have ${ERROR_LENGTH} elements`;
    return {
      severity: 'error',
      message: `CEL expression costs ${Math.round(costAt(estimate, ERROR_LENGTH))}${where}, over ${budget}: it would fail on almost every object; simplify it or raise limits.celCost`,
    };
  }
  if (costAt(estimate, LONG_LENGTH) > limit) {
    const growth = d === 1 ? 'with the length n' : `as n^${d} with the length n`;
    return {
      severity: 'warning',
      message: `CEL expression's cost grows ${growth} of the lists it iterates: ${formatCost(costAt(estimate, LONG_LENGTH))} for ${LONG_LENGTH} elements, over ${budget}; objects with lists longer than about ${longestWithin(estimate, limit)} elements will fail (kind limit-cel-cost)`,
    };
  }
  return undefined;
}

/** The largest n whose estimated cost is within `limit` (the estimate grows with n). */
function longestWithin(estimate: CostPolynomial, limit: number): number {
  let low = ERROR_LENGTH;
  let high = LONG_LENGTH;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (costAt(estimate, mid) <= limit) low = mid;
    else high = mid;
  }
  return low;
}

function formatCost(cost: number): string {
  return cost < 1e6 ? String(Math.round(cost)) : cost.toExponential(1).replace('e+', 'e');
}
