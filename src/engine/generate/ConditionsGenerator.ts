import { isMap } from '../../go/kubeJson.ts';
import { parseGoRfc3339Seconds } from '../../go/rfc3339.ts';
import type { EachContext, EachGenerator, EachValue } from './EachGenerator.ts';

/** The statuses of a condition as label values (Kubernetes writes `True`, `False`, `Unknown`). */
const STATUSES = ['true', 'false', 'unknown'] as const;

/**
 * Every entry of `status.conditions[]`, with no per-kind config: in `state` mode a state set
 * (labels `condition` = the type, `status` = true/false/unknown), in `timestamp` mode each
 * condition's `lastTransitionTime` in seconds (label `condition`). Entries without a string type,
 * and a missing or malformed list, give nothing and no error: most objects have some conditions,
 * some have none yet.
 */
export class ConditionsGenerator implements EachGenerator {
  readonly pathText = '[status,conditions]';
  private readonly _mode: 'state' | 'timestamp';

  constructor(mode: 'state' | 'timestamp') {
    this._mode = mode;
  }

  values(object: unknown, context: EachContext): EachValue[] {
    const status = isMap(object) ? object.status : undefined;
    const list = isMap(status) ? status.conditions : undefined;
    if (!Array.isArray(list)) return [];
    const out: EachValue[] = [];
    for (const condition of list) {
      if (!isMap(condition) || typeof condition.type !== 'string' || condition.type === '') continue;
      if (this._mode === 'timestamp') {
        const at = condition.lastTransitionTime;
        const seconds = typeof at === 'string' ? parseGoRfc3339Seconds(at) : undefined;
        if (seconds === undefined) continue;
        const labels = new Map([['condition', condition.type]]);
        context.budget.add(labels);
        out.push({ labels, value: seconds });
        continue;
      }
      const status = typeof condition.status === 'string' ? condition.status.toLowerCase() : '';
      for (const s of STATUSES) {
        const labels = new Map([
          ['condition', condition.type],
          ['status', s],
        ]);
        context.budget.add(labels);
        out.push({ labels, value: s === status ? 1 : 0 });
      }
    }
    return out;
  }
}
