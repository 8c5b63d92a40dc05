import { CelEvaluationError } from '../cel/CelExpression.ts';
import type { CelConversionCache, CelExpression } from '../cel/CelExpression.ts';
import type { ValuePath } from './ValuePath.ts';

/** A CEL expression failed on an element; the message names the expression. */
export class ValueSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueSourceError';
  }
}

/**
 * Where a metric reads its value (a gauge's number, a state set's state) in each element: a path
 * or a CEL expression, behind one interface, as kube-state-metrics' `valueExtractor`. Generators
 * never ask which one it is, except for the texts of their messages.
 */
export interface ValueSource {
  /** How it is written in messages: `[status,replicas]` or the expression's source. */
  readonly text: string;
  readonly kind: 'path' | 'expression';
  /**
   * The value in `element` (`root` is the whole object, CEL's `object`): a decoded JSON value, or
   * undefined when there is none (a missing path, a CEL null). Throws ValueSourceError when an
   * expression fails.
   */
  read(element: unknown, root: unknown, cel: CelConversionCache): unknown;
}

/** A value read by path (KSM's `valueFrom`). */
export class PathValueSource implements ValueSource {
  readonly kind = 'path';
  readonly text: string;
  readonly path: ValuePath;

  constructor(path: ValuePath) {
    this.path = path;
    this.text = path.text;
  }

  read(element: unknown): unknown {
    return this.path.get(element);
  }
}

/** A value computed by CEL (`valueExpression`): numbers, booleans and strings; null is none. */
export class ExpressionValueSource implements ValueSource {
  readonly kind = 'expression';
  readonly text: string;
  private readonly _expression: CelExpression;

  constructor(expression: CelExpression) {
    this._expression = expression;
    this.text = expression.source;
  }

  read(element: unknown, root: unknown, cel: CelConversionCache): unknown {
    try {
      const outcome = this._expression.evaluate(root, element, cel);
      return outcome.kind === 'null' ? undefined : outcome.value;
    } catch (err) {
      if (err instanceof CelEvaluationError) throw new ValueSourceError(`${this.text}: ${err.message}`);
      throw err;
    }
  }
}
