// Tenants whose objects carry a free-form map copied into labels by a star key
// (`"*": [spec, tags]`): the map's keys become label names, so a tenant chooses them. A key `""`
// or `__name__` used to produce `{="x"}` or a second `__name__`, which promtool and Prometheus
// reject, taking every other tenant's series down with it.

/**
 * The config: a gauge per Thing with every key of `spec.tags` a label (a metric-level star key), an
 * info with one series per key (`labelFromKey`) and the keys as `tag_<key>` labels, and a state
 * set with the tags as each-level labels. `prefix` is the metric name prefix.
 */
export function tagsConfig(prefix = 'thing'): string {
  return `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: { group: example.com, version: v1, kind: Thing }
      metricNamePrefix: ${prefix}
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]
      metrics:
        - name: replicas
          help: Replicas, with every tag as a label.
          labelsFromPath:
            "*": [spec, tags]
          each:
            type: Gauge
            gauge:
              path: [spec]
              valueFrom: [replicas]
        - name: tag_info
          help: One series per tag key, the key as a value and the tags as prefixed labels.
          each:
            type: Info
            info:
              path: [spec, tags]
              labelFromKey: key
              labelsFromPath:
                "tag_*": []
        - name: phase
          help: Phase, with the tags.
          each:
            type: StateSet
            stateSet:
              path: [status]
              valueFrom: [phase]
              labelName: phase
              list: [Pending, Ready]
              labelsFromPath:
                "*": [tags]
`;
}

export const TAGS_CONFIG = tagsConfig();

/** Keys a hostile tenant can use that are no valid label name as they are. */
export const HOSTILE_KEYS = ['', '__name__', '__x', '_', '9lives', 'a.b/c', 'ünï', '\u{1F600}', 'le'];

export function thing(
  name: string,
  namespace: string,
  tags: Record<string, string>,
  replicas = 3,
): Record<string, unknown> {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Thing',
    metadata: { name, namespace },
    spec: { replicas, tags },
    status: { phase: 'Ready', tags },
  };
}

/** One hostile tenant's Thing: every key of HOSTILE_KEYS, each with a value naming it. */
export function hostileThing(name = 'hostile', namespace = 'tenant-a'): Record<string, unknown> {
  return thing(name, namespace, Object.fromEntries(HOSTILE_KEYS.map((k, i) => [k, `v${i}`])));
}

/** Another team's ordinary Thing: its series must survive the hostile one. */
export function ordinaryThing(name = 'ordinary', namespace = 'tenant-b'): Record<string, unknown> {
  return thing(name, namespace, { team: 'b', tier: 'gold' }, 2);
}
