import { CelEvaluationError, outcomeToLabel } from '../cel/CelExpression.ts';
import type { CelExpression } from '../cel/CelExpression.ts';
import { sanitizeLabelName } from '../../exposition/labelNames.ts';
import type { EachContext } from './EachGenerator.ts';

export interface ExpressionLabel {
  readonly name: string;
  readonly expression: CelExpression;
}

/** Adds CEL labels; a failing expression drops only its label and is counted. */
export function addExpressionLabels(
  self: unknown,
  labels: readonly ExpressionLabel[],
  context: EachContext,
  result: Map<string, string>,
): void {
  for (const label of labels) {
    try {
      const value = outcomeToLabel(label.expression.evaluate(context.root, self, context.cel));
      if (value !== undefined) result.set(sanitizeLabelName(label.name), value);
    } catch (err) {
      if (!(err instanceof CelEvaluationError)) throw err;
      context.errors.report('cel', `label ${label.name}: ${label.expression.source}: ${err.message}`);
    }
  }
}
