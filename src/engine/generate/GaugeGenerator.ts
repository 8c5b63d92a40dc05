import { addPathLabels } from './labels.ts';
import type { CompiledPathLabels } from './labels.ts';
import { toFloat64, ValueConversionError } from '../../go/toFloat64.ts';
import { isMap } from '../../go/kubeJson.ts';
import type { ValuePath } from './ValuePath.ts';
import { PathValueSource, ValueSourceError } from './ValueSource.ts';
import type { ValueSource } from './ValueSource.ts';
import { addExpressionLabels } from './expressionLabels.ts';
import type { ExpressionLabel } from './expressionLabels.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';

export interface GaugeOptions {
  readonly path: ValuePath;
  /** The number in each element (`valueFrom` or `valueExpression`). */
  readonly value: ValueSource;
  readonly labelsFromPath: CompiledPathLabels;
  readonly labelsFromExpression: readonly ExpressionLabel[];
  readonly labelFromKey: string;
  readonly nilIsZero: boolean;
}

interface ElementError {
  readonly error: string;
  readonly kind: 'nil-value' | 'conversion' | 'cel';
}

/** Result of reading one element: a series, nothing (silently), or an error message. */
type ElementResult = EachValue | undefined | ElementError;

function isError(r: ElementResult): r is ElementError {
  return r !== undefined && 'error' in r;
}

/**
 * KSM's Gauge: a map under `path` gives one series per entry, a list one per element, anything
 * else one series. Unlike KSM, conversion errors inside a map are reported instead of dropped.
 */
export class GaugeGenerator implements EachGenerator {
  readonly pathText: string;
  private readonly _o: GaugeOptions;
  /** valueFrom of exactly one segment: lets a map entry with that key be the value itself (KSM). */
  private readonly _singleValueKey: string | undefined;

  constructor(options: GaugeOptions) {
    this._o = options;
    this.pathText = options.path.text;
    const value = options.value;
    this._singleValueKey =
      value instanceof PathValueSource && value.path.segments.length === 1
        ? value.path.segments[0]
        : undefined;
  }

  values(target: unknown, context: EachContext): EachValue[] {
    const out: EachValue[] = [];
    const fail = (where: string, r: ElementError) =>
      context.errors.report(r.kind, `${this.pathText}: ${where}${r.error}`);
    // With a CEL value, a map is one element (self) unless labelFromKey asks for one series per entry.
    const iterateMap = isMap(target) && (this._o.value.kind === 'path' || this._o.labelFromKey !== '');
    if (iterateMap) {
      for (const key of Object.keys(target)) {
        const item = target[key];
        let result: ElementResult;
        if (this._singleValueKey !== undefined && key === this._singleValueKey) {
          result = this._convert(item, new Map());
        } else {
          result = this._value(item, context);
          // KSM skips entries whose valueFrom does not resolve; entries that are not objects are the usual case.
          if (result === undefined) continue;
        }
        if (isError(result)) {
          fail(`[${key}]: `, result);
          continue;
        }
        if (result === undefined) continue;
        if (key !== '' && this._o.labelFromKey !== '') result.labels.set(this._o.labelFromKey, key);
        this._addLabels(item, result.labels, context);
        this._addLabels(target, result.labels, context);
        context.budget.add(result.labels);
        out.push(result);
      }
    } else if (Array.isArray(target)) {
      target.forEach((item, index) => {
        const result = this._value(item, context);
        if (isError(result)) fail(`[${index}]: `, result);
        else if (result !== undefined) {
          this._addLabels(item, result.labels, context);
          context.budget.add(result.labels);
          out.push(result);
        }
      });
    } else {
      const result = this._value(target, context);
      if (isError(result)) fail('', result);
      else if (result !== undefined) {
        this._addLabels(target, result.labels, context);
        context.budget.add(result.labels);
        out.push(result);
      }
    }
    return out;
  }

  private _addLabels(element: unknown, labels: Map<string, string>, context: EachContext): void {
    addPathLabels(element, this._o.labelsFromPath, labels, context.errors);
    if (this._o.labelsFromExpression.length > 0)
      addExpressionLabels(element, this._o.labelsFromExpression, context, labels);
  }

  private _value(item: unknown, context: EachContext): ElementResult {
    const labels = new Map<string, string>();
    const { value, nilIsZero } = this._o;
    // A nil element under a path is an error (KSM); an expression over the whole object (no path)
    // is evaluated even on a nil map entry, where CEL's `self` is null.
    if ((item === undefined || item === null) && (value.kind === 'path' || !this._o.path.isEmpty))
      return nilIsZero ? { labels, value: 0 } : { error: 'got nil while resolving path', kind: 'nil-value' };
    let got: unknown;
    try {
      got = value.read(item, context.root, context.cel);
    } catch (err) {
      if (err instanceof ValueSourceError) return { error: err.message, kind: 'cel' };
      throw err;
    }
    // Nothing there: KSM skips the element silently (a map entry that is not an object, say).
    if (got === undefined) return nilIsZero ? { labels, value: 0 } : undefined;
    const converted = this._convert(got, labels);
    if (isError(converted) && value.kind === 'path')
      return { error: `${value.text}: ${converted.error}`, kind: converted.kind };
    return converted;
  }

  private _convert(value: unknown, labels: Map<string, string>): ElementResult {
    try {
      return { labels, value: toFloat64(value, this._o.nilIsZero) };
    } catch (err) {
      if (err instanceof ValueConversionError) return { error: err.message, kind: 'conversion' };
      throw err;
    }
  }
}
