import type { CelConversionCache } from '../cel/CelExpression.ts';
import type { ObjectErrorKind } from '../ObjectErrors.ts';
import type { HealthJudge } from './HealthJudge.ts';
import type { SeriesBudget } from './SeriesBudget.ts';

/** One series before the resource- and metric-level labels are merged in. */
export interface EachValue {
  readonly labels: Map<string, string>;
  readonly value: number;
}

/** Receives per-object problems; never throws, so one bad field cannot stop the other series. */
export interface ErrorSink {
  report(kind: ObjectErrorKind, message: string): void;
}

/** What a generator needs besides the value under `path`. */
export interface EachContext {
  /** The whole object, for CEL's `object`. */
  readonly root: unknown;
  readonly cel: CelConversionCache;
  readonly errors: ErrorSink;
  /** Every series is accounted here before it is emitted; throws LimitExceeded past a limit. */
  readonly budget: SeriesBudget;
  /** Results shared by the families of one object's generation (its health verdict). */
  readonly memo: GenerationMemo;
}

/** What one generation of an object computes once for all its families. */
export interface GenerationMemo {
  health?: ReturnType<HealthJudge['verdict']>;
}

/** Turns the value found under a metric's `path` into series, following one KSM metric type. */
export interface EachGenerator {
  readonly pathText: string;
  values(target: unknown, context: EachContext): EachValue[];
}
