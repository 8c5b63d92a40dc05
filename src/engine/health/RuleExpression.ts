import { CelExpression } from '../cel/CelExpression.ts';
import { requiredFields } from './requiredFields.ts';
import type { FieldPath } from './requiredFields.ts';

/** A compiled expression and the fields without which it cannot pass (requiredFields.ts). */
export interface CompiledExpression {
  readonly cel: CelExpression;
  readonly needs: readonly FieldPath[];
}

/**
 * One CEL expression of a rule, compiled when first needed: the shipped rules hold hundreds of
 * expressions and an object meets only the few of its kind's chain, so compiling them all at
 * start-up would cost time no object asks for. `compile()` compiles at once (for documents whose
 * errors must be reported when read, and for tests of the shipped files).
 */
export class RuleExpression {
  readonly source: string;
  /** `true`: the rule needs the expression to be true; `value`: only to have a value. */
  private readonly _for: 'true' | 'value';
  /** undefined: not compiled yet; null: it does not compile. */
  private _compiled: CompiledExpression | null | undefined;
  private _error: string | undefined;

  constructor(source: string, purpose: 'true' | 'value') {
    this.source = source;
    this._for = purpose;
  }

  /** Compiles now if not done yet; returns the parser's message when the expression does not compile. */
  compile(): string | undefined {
    if (this._compiled === undefined) {
      try {
        const cel = new CelExpression(this.source);
        const fields = requiredFields(this.source);
        this._compiled = { cel, needs: this._for === 'true' ? fields.forTrue : fields.forValue };
      } catch (err) {
        this._compiled = null;
        this._error = (err as Error).message;
      }
    }
    return this._error;
  }

  /** The compiled expression; undefined when it does not compile (the rule then never applies). */
  get(): CompiledExpression | undefined {
    if (this._compiled === undefined) this.compile();
    return this._compiled ?? undefined;
  }
}
