import type { CompiledResource } from './CompiledResource.ts';
import { isMap } from './ValuePath.ts';
import type { ObjectRef } from './ObjectErrors.ts';

export interface ObjectGvk {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** Group, version and kind from `apiVersion` and `kind`, or undefined when the object has none. */
export function objectGvk(object: unknown): ObjectGvk | undefined {
  if (!isMap(object)) return undefined;
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '')
    return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion, kind }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

export function objectRef(object: unknown, origin?: string): ObjectRef {
  const metadata = isMap(object) && isMap(object.metadata) ? object.metadata : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    namespace: str(metadata.namespace),
    name: str(metadata.name),
    ...(origin !== undefined ? { origin } : {}),
  };
}

export function formatObjectRef(ref: ObjectRef): string {
  const id = ref.namespace ? `${ref.namespace}/${ref.name ?? '?'}` : (ref.name ?? '<unnamed>');
  return ref.origin ? `${id} (${ref.origin})` : id;
}

/**
 * The resource entry an object belongs to. As in kube-state-metrics, when several entries match
 * the same kind the last one wins.
 */
export function resourceFor(
  resources: readonly CompiledResource[],
  gvk: ObjectGvk,
): CompiledResource | undefined {
  for (let i = resources.length - 1; i >= 0; i--) {
    const r = resources[i]!;
    if (r.matches(gvk.group, gvk.version, gvk.kind)) return r;
  }
  return undefined;
}
