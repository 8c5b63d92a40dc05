import type { GroupVersionKind } from '../../model/gvk.ts';
import type { CompiledResource } from '../generate/CompiledResource.ts';

/**
 * The resource entry an object belongs to. As in kube-state-metrics, when several entries match
 * the same kind the last one wins.
 */
export function resourceFor(
  resources: readonly CompiledResource[],
  gvk: GroupVersionKind,
): CompiledResource | undefined {
  for (let i = resources.length - 1; i >= 0; i--) {
    const r = resources[i]!;
    if (r.matches(gvk.group, gvk.version, gvk.kind)) return r;
  }
  return undefined;
}
