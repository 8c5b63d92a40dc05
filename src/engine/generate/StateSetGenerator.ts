import { addPathLabels } from './labels.ts';
import type { CompiledPathLabels } from './labels.ts';
import { goTypeName } from '../../go/goTypeName.ts';
import type { ValuePath } from './ValuePath.ts';
import { ValueSourceError } from './ValueSource.ts';
import type { ValueSource } from './ValueSource.ts';
import { addExpressionLabels } from './expressionLabels.ts';
import type { ExpressionLabel } from './expressionLabels.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';

export interface StateSetOptions {
  readonly path: ValuePath;
  /** The state string in each element (`valueFrom` or `valueExpression`). */
  readonly value: ValueSource;
  readonly labelsFromPath: CompiledPathLabels;
  readonly labelsFromExpression: readonly ExpressionLabel[];
  readonly labelName: string;
  readonly list: readonly string[];
}

/**
 * KSM's StateSet: for the value under `path` (each element, if it is a list), one series per
 * `list` entry, 1 where the state string equals the entry. A missing state gives no series and
 * no error (KSM 2.20); a state that is not a string is an error.
 */
export class StateSetGenerator implements EachGenerator {
  readonly pathText: string;
  private readonly _o: StateSetOptions;

  constructor(options: StateSetOptions) {
    this._o = options;
    this.pathText = options.path.text;
  }

  values(target: unknown, context: EachContext): EachValue[] {
    if (Array.isArray(target)) return target.flatMap((item) => this._values(item, context));
    return this._values(target, context);
  }

  private _values(element: unknown, context: EachContext): EachValue[] {
    const state = this._state(element, context);
    if (state === undefined) return [];
    return this._o.list.map((entry) => {
      const labels = new Map<string, string>([[this._o.labelName, entry]]);
      addPathLabels(element, this._o.labelsFromPath, labels, context.errors);
      if (this._o.labelsFromExpression.length > 0)
        addExpressionLabels(element, this._o.labelsFromExpression, context, labels);
      context.budget.add(labels);
      return { labels, value: state === entry ? 1 : 0 };
    });
  }

  private _state(element: unknown, context: EachContext): string | undefined {
    if (element === undefined || element === null) return undefined;
    let state: unknown;
    try {
      state = this._o.value.read(element, context.root, context.cel);
    } catch (err) {
      if (!(err instanceof ValueSourceError)) throw err;
      context.errors.report('cel', `${this.pathText}: ${err.message}`);
      return undefined;
    }
    if (state === undefined || state === null) return undefined;
    if (typeof state !== 'string') {
      context.errors.report(
        'not-a-string',
        `${this.pathText}: expected value for path to be string, got ${goTypeName(state)}`,
      );
      return undefined;
    }
    return state;
  }
}
