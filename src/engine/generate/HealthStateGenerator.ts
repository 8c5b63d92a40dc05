import { objectGvk } from '../../model/gvk.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';
import { HEALTH_STATES } from './HealthJudge.ts';
import type { HealthJudge } from './HealthJudge.ts';

/**
 * `<prefix>_health`: a state set of the object's health, label `state`, exactly one state at 1.
 * The verdict is kept in the context's memo: the health tracker family of the same object reads
 * it instead of judging again.
 */
export class HealthStateGenerator implements EachGenerator {
  readonly pathText = '[]';
  /** What decides the state (explain asks it for the deciding rule). */
  readonly judge: HealthJudge;

  constructor(judge: HealthJudge) {
    this.judge = judge;
  }

  values(target: unknown, context: EachContext): EachValue[] {
    const state = healthVerdict(this.judge, target, context).state;
    return HEALTH_STATES.map((s) => {
      const labels = new Map([['state', s]]);
      context.budget.add(labels);
      return { labels, value: s === state ? 1 : 0 };
    });
  }
}

/** The object's verdict, judged once per generation of the object (memoised in the context). */
export function healthVerdict(
  judge: HealthJudge,
  object: unknown,
  context: EachContext,
): ReturnType<HealthJudge['verdict']> {
  if (context.memo.health) return context.memo.health;
  const gvk = objectGvk(object);
  const verdict = judge.verdict(object, gvk?.group ?? '', gvk?.kind ?? '');
  context.memo.health = verdict;
  return verdict;
}
