import { isMap } from '../go/kubeJson.ts';

/** Which object something is about, for messages: namespace, name and where it came from. */
export interface ObjectRef {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** Where it came from (a file path, or the API server collection). */
  readonly origin?: string;
}

/** The object's namespace and name (undefined where missing or not a string). */
export function objectRef(object: unknown, origin?: string): ObjectRef {
  const metadata = isMap(object) && isMap(object.metadata) ? object.metadata : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    namespace: str(metadata.namespace),
    name: str(metadata.name),
    ...(origin !== undefined ? { origin } : {}),
  };
}

/** `namespace/name (origin)`, `name` for cluster-scoped objects, `<unnamed>` without a name. */
export function formatObjectRef(ref: ObjectRef): string {
  const id = ref.namespace ? `${ref.namespace}/${ref.name ?? '?'}` : (ref.name ?? '<unnamed>');
  return ref.origin ? `${id} (${ref.origin})` : id;
}
