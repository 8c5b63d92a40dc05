/** A Kubernetes object as decoded from JSON: only the metadata the reflector needs is typed. */
export type KubeObject = Record<string, unknown> & {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
};

/** One event of a watch stream, as the API server sends it. */
export interface WatchEvent {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. */
  readonly type: string;
  readonly object: KubeObject;
}

/** The cache key of an object in a collection: `target|namespace/name`. */
export function objectKey(targetId: string, object: KubeObject): string {
  const md = object.metadata ?? {};
  return `${targetId}|${md.namespace ?? ''}/${md.name ?? ''}`;
}
