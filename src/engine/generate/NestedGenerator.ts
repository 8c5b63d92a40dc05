import { addExpressionLabels } from './expressionLabels.ts';
import type { ExpressionLabel } from './expressionLabels.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';
import { addPathLabels } from './labels.ts';
import type { CompiledPathLabels } from './labels.ts';
import type { ValuePath } from './ValuePath.ts';

/** One enclosing level of a nested iteration: the labels read from each of its elements. */
export interface NestedLevel {
  readonly labelsFromPath: CompiledPathLabels;
  readonly labelsFromExpression: readonly ExpressionLabel[];
  /** Where the next level's list is, relative to each element of this one. */
  readonly innerPath: ValuePath;
}

/**
 * An enclosing level of `forEach`: iterates the elements of its target (a list; any other value
 * is one element), reads this level's labels from each, and hands the element's inner list to
 * `inner`, whose series inherit these labels (a label the inner series has itself wins). So
 * `parents[*].conditions[*]` gives one series per condition of each parent, with the parent's labels.
 */
export class NestedGenerator implements EachGenerator {
  readonly pathText: string;
  private readonly _level: NestedLevel;
  private readonly _inner: EachGenerator;

  constructor(pathText: string, level: NestedLevel, inner: EachGenerator) {
    this.pathText = pathText;
    this._level = level;
    this._inner = inner;
  }

  values(target: unknown, context: EachContext): EachValue[] {
    if (target === undefined || target === null) return [];
    const elements: readonly unknown[] = Array.isArray(target) ? target : [target];
    const out: EachValue[] = [];
    for (const element of elements) {
      if (element === undefined || element === null) continue;
      const labels = new Map<string, string>();
      addPathLabels(element, this._level.labelsFromPath, labels, context.errors);
      if (this._level.labelsFromExpression.length > 0)
        addExpressionLabels(element, this._level.labelsFromExpression, context, labels);
      for (const value of this._inner.values(this._level.innerPath.get(element), context)) {
        if (labels.size > 0) {
          context.budget.addInherited(labels, value.labels);
          for (const [k, v] of labels) if (!value.labels.has(k)) value.labels.set(k, v);
        }
        out.push(value);
      }
    }
    return out;
  }
}
