import { stringify } from 'yaml';
import type { ResourceConfig } from '../config/types.ts';
import { isWildcard } from '../model/gvk.ts';

/**
 * A guess at the plural when the config gives none, used only for RBAC (at run time discovery
 * decides). Same rules as the common English pluraliser kube-state-metrics falls back to.
 */
export function guessPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/**
 * The least-privilege ClusterRole for a config: get/list/watch on exactly the configured
 * resources (all resources of a group for a kind wildcard), plus the CRDs for discovery.
 */
export function clusterRoleFor(
  resources: readonly ResourceConfig[],
  name = 'crd-metrics-bridge',
  options: ClusterRoleOptions = {},
): Record<string, unknown> {
  const byGroup = new Map<string, Set<string>>();
  for (const r of resources) {
    const { group, kind } = r.groupVersionKind;
    const plural = isWildcard(kind) ? '*' : (r.resourcePlural ?? guessPlural(kind));
    let set = byGroup.get(group);
    if (!set) byGroup.set(group, (set = new Set()));
    set.add(plural);
  }
  const rules: Record<string, unknown>[] = [
    {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      verbs: ['get', 'list', 'watch'],
    },
  ];
  for (const [group, plurals] of [...byGroup].sort(([a], [b]) => a.localeCompare(b))) {
    rules.push({
      apiGroups: [group],
      resources: plurals.has('*') ? ['*'] : [...plurals].sort(),
      verbs: ['get', 'list', 'watch'],
    });
  }
  if (options.authFilter) rules.push(...AUTH_FILTER_RULES);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'crd-metrics-bridge' } },
    rules,
  };
}

export function clusterRoleYaml(
  resources: readonly ResourceConfig[],
  name?: string,
  options?: ClusterRoleOptions,
): string {
  return stringify(clusterRoleFor(resources, name, options), { lineWidth: 0 });
}

export interface ClusterRoleOptions {
  /** Add what `--auth-filter` needs (create TokenReviews and SubjectAccessReviews). @default false */
  readonly authFilter?: boolean;
}

/** `--auth-filter` reviews every scraper's token with the API server. */
export const AUTH_FILTER_RULES: readonly Record<string, unknown>[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];
