import { addPathLabels } from './labels.ts';
import type { CompiledPathLabels } from './labels.ts';
import { isMap } from '../../go/kubeJson.ts';
import { addExpressionLabels } from './expressionLabels.ts';
import type { ExpressionLabel } from './expressionLabels.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';

export interface InfoOptions {
  readonly pathText: string;
  readonly labelsFromPath: CompiledPathLabels;
  readonly labelsFromExpression: readonly ExpressionLabel[];
  readonly labelFromKey: string;
}

/**
 * KSM's Info: value 1, labels from the element. A list gives one series per element; a map gives
 * one series for the map itself plus one per entry (with `labelFromKey`); a series exists only if
 * at least one each-level label resolved.
 */
export class InfoGenerator implements EachGenerator {
  readonly pathText: string;
  private readonly _o: InfoOptions;

  constructor(options: InfoOptions) {
    this._o = options;
    this.pathText = options.pathText;
  }

  values(target: unknown, context: EachContext): EachValue[] {
    if (Array.isArray(target)) return target.flatMap((item) => this._values(item, context));
    if (!isMap(target)) return this._values(target, context);
    const own = this._values(target, context);
    const out: EachValue[] = [];
    for (const key of Object.keys(target)) {
      const labels = new Map<string, string>();
      if (key !== '' && this._o.labelFromKey !== '') labels.set(this._o.labelFromKey, key);
      this._addLabels(target[key], labels, context);
      if (labels.size > 0) {
        context.budget.add(labels);
        out.push({ labels, value: 1 });
      }
    }
    return out.concat(own);
  }

  private _values(element: unknown, context: EachContext): EachValue[] {
    if (element === undefined || element === null) return [];
    const labels = new Map<string, string>();
    this._addLabels(element, labels, context);
    if (labels.size === 0) return [];
    context.budget.add(labels);
    return [{ labels, value: 1 }];
  }

  private _addLabels(element: unknown, labels: Map<string, string>, context: EachContext): void {
    addPathLabels(element, this._o.labelsFromPath, labels, context.errors);
    if (this._o.labelsFromExpression.length > 0)
      addExpressionLabels(element, this._o.labelsFromExpression, context, labels);
  }
}
