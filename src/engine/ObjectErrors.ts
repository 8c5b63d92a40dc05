import type { ObjectRef } from '../model/objectRef.ts';
import type { LimitKind } from './limits.ts';

/** Why an object produced fewer series than configured; counted per resource and metric. */
export type ObjectErrorKind =
  | 'nil-value'
  | 'conversion'
  | 'not-a-string'
  | 'cel'
  | 'duplicate-series'
  | 'invalid-label-name'
  | 'internal'
  | LimitKind;

export interface ObjectErrorSummary {
  readonly resource: string;
  readonly metric: string;
  readonly kind: ObjectErrorKind;
  count: number;
  /** KSM's errorLogV of the metric: above 0, the first occurrence is logged at debug level only. */
  readonly errorLogV: number;
  readonly exampleMessage: string;
  readonly exampleObject: ObjectRef;
}

export interface ObjectErrorListeners {
  /** Called once per new (resource, metric, kind): the place to log, so logs never repeat per object. */
  readonly onFirst?: (summary: ObjectErrorSummary) => void;
  /** Called for every occurrence: the place to count (and, in `render`, to name every object). */
  readonly onEvery?: (
    summary: ObjectErrorSummary,
    occurrence: { message: string; object: ObjectRef },
  ) => void;
}

/**
 * Counts per-object problems per resource, metric and kind, keeping one example each. Objects
 * with bad fields are routine in a cluster (status not yet written), so this never throws and
 * never logs more than once per (metric, kind).
 */
export class ObjectErrors {
  private readonly _byKey = new Map<string, ObjectErrorSummary>();
  private readonly _listeners: ObjectErrorListeners;

  constructor(listeners: ObjectErrorListeners = {}) {
    this._listeners = listeners;
  }

  record(
    resource: string,
    metric: string,
    kind: ObjectErrorKind,
    message: string,
    object: ObjectRef,
    errorLogV = 0,
  ): void {
    const key = `${resource}\u0000${metric}\u0000${kind}`;
    const existing = this._byKey.get(key);
    if (existing) {
      existing.count++;
      this._listeners.onEvery?.(existing, { message, object });
      return;
    }
    const summary: ObjectErrorSummary = {
      resource,
      metric,
      kind,
      count: 1,
      errorLogV,
      exampleMessage: message,
      exampleObject: object,
    };
    this._byKey.set(key, summary);
    this._listeners.onFirst?.(summary);
    this._listeners.onEvery?.(summary, { message, object });
  }

  summaries(): readonly ObjectErrorSummary[] {
    return [...this._byKey.values()];
  }

  get total(): number {
    let n = 0;
    for (const s of this._byKey.values()) n += s.count;
    return n;
  }
}
