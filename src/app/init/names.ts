/**
 * Names for drafted metrics and labels: snake_case from field names and kinds, valid Prometheus
 * names, and deterministic deduplication (the same fields always get the same names).
 */

/**
 * `readyReplicas` → `ready_replicas`, `HTTPRoute` → `http_route`, `s3Bucket` → `s3_bucket`,
 * `crossplane.io/usage-details` → `crossplane_io_usage_details`. Only `[a-z0-9_]`, no leading,
 * trailing or doubled underscores; may be empty (a name of symbols only).
 */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Label names the drafted resources set on every series, which no field may take over. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set([
  'name',
  'namespace',
  'customresource_group',
  'customresource_version',
  'customresource_kind',
]);

/**
 * Labels that the exposition formats or Prometheus give a meaning of their own: a state set's
 * state label must not be one of these either.
 */
const SPECIAL_LABELS: ReadonlySet<string> = new Set(['le', 'quantile', 'job', 'instance']);

/** A valid label or metric name part: snake_case, not starting with a digit, never empty. */
export function namePart(text: string, fallback: string): string {
  const snake = snakeCase(text);
  if (snake === '') return fallback;
  return /^[0-9]/.test(snake) ? `${fallback}_${snake}` : snake;
}

/**
 * Hands out names that are unique within one scope (a resource's metrics, one metric's labels):
 * the first asker gets the name, later ones `name_2`, `name_3`, … in the order they ask, which is
 * the (sorted) order of the fields, so a regenerated config keeps its names.
 */
export class NameScope {
  private readonly _taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const name of reserved) this._taken.add(name);
  }

  has(name: string): boolean {
    return this._taken.has(name);
  }

  /** `name`, or the first free `name_N` (N from 2). */
  claim(name: string): string {
    let candidate = name;
    for (let n = 2; this._taken.has(candidate); n++) candidate = `${name}_${n}`;
    this._taken.add(candidate);
    return candidate;
  }
}

/** Whether a label name may be used for a field (not reserved, not special, not `__`-prefixed). */
export function isUsableLabelName(name: string): boolean {
  return !RESERVED_LABELS.has(name) && !SPECIAL_LABELS.has(name) && !name.startsWith('__');
}

/**
 * Domains shared by many projects: the project's name is the group's first label there
 * (`gateway.networking.k8s.io` → `gateway`, `cluster.x-k8s.io` → `cluster`).
 */
const SHARED_DOMAINS: ReadonlySet<string> = new Set(['k8s', 'x-k8s', 'kubernetes', 'github', 'googleapis']);

/**
 * The short name of the project that owns an API group, the way hand-written configs name their
 * metrics (`certmanager_`, `capi_`, `gotk_`): the registrable label of the group's domain
 * (`source.toolkit.fluxcd.io` → `fluxcd`, `postgresql.cnpg.io` → `cnpg`), or its first label
 * under a shared domain.
 */
export function projectName(group: string): string {
  const labels = group.split('.').filter((l) => l !== '');
  if (labels.length === 0) return 'custom';
  if (labels.length === 1) return namePart(labels[0]!, 'custom');
  const registrable = labels[labels.length - 2]!;
  return namePart(SHARED_DOMAINS.has(registrable) ? labels[0]! : registrable, 'custom');
}

/**
 * The metric name prefix for a kind: `<project>_<kind>` (`cert_manager_certificate`,
 * `fluxcd_helm_release`), or just the kind when it already starts with the project's name
 * (`keda.sh` ScaledObject → `keda_scaled_object`, not `keda_keda_…`).
 */
export function metricPrefix(group: string, kind: string): string {
  const project = projectName(group);
  const kindPart = namePart(kind, 'kind');
  return kindPart === project || kindPart.startsWith(`${project}_`) ? kindPart : `${project}_${kindPart}`;
}

/** The prefix used when two kinds of one draft would get the same short prefix: the whole group. */
export function fullGroupPrefix(group: string, kind: string): string {
  return `${namePart(group, 'custom')}_${namePart(kind, 'kind')}`;
}
