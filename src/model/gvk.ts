import { isMap } from '../go/kubeJson.ts';

/** A Kubernetes group, version and kind; in a configured resource, version and kind may be wildcards. */
export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** `""` and `"*"` in a configured group, version or kind match anything. */
export function isWildcard(part: string): boolean {
  return part === '' || part === '*';
}

/** Whether a configured group, version or kind (maybe a wildcard) matches a concrete one. */
export function matchesPart(pattern: string, value: string): boolean {
  return isWildcard(pattern) || pattern === value;
}

/** Whether a configured GVK (wildcards allowed) matches the concrete group, version and kind. */
export function matchesGvk(pattern: GroupVersionKind, group: string, version: string, kind: string): boolean {
  return (
    matchesPart(pattern.group, group) &&
    matchesPart(pattern.version, version) &&
    matchesPart(pattern.kind, kind)
  );
}

/** `group/version/kind`, with `*` for a wildcard part (logs, self-metric labels, `check`). */
export function formatGvk(gvk: GroupVersionKind): string {
  return `${gvk.group || '*'}/${gvk.version || '*'}/${gvk.kind || '*'}`;
}

/** Group, version and kind from an object's `apiVersion` and `kind`; undefined when it has none. */
export function objectGvk(object: unknown): GroupVersionKind | undefined {
  if (!isMap(object)) return undefined;
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '')
    return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion, kind }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}
