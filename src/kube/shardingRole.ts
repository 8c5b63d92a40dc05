import { stringify } from 'yaml';

/**
 * The namespaced Role auto-sharding (`--pod`, `--pod-namespace`) needs in the bridge's own
 * namespace: read its pod (to find the StatefulSet) and watch that StatefulSet (scale changes).
 */
export function shardingRole(namespace: string, name = 'crd-metrics-bridge'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: {
      name: `${name}-sharding`,
      namespace,
      labels: { 'app.kubernetes.io/name': 'crd-metrics-bridge' },
    },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch'] },
    ],
  };
}

export function shardingRoleYaml(namespace: string, name?: string): string {
  return stringify(shardingRole(namespace, name), { lineWidth: 0 });
}
