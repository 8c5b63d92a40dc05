import type { ResourceConfig } from '../config/types.ts';
import { isWildcard, matchesPart } from '../model/gvk.ts';

/** The parts of a CustomResourceDefinition that decide what to watch. */
export interface CrdInfo {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly servedVersions: readonly string[];
  /** The version objects are stored in, when it is served (else the first served one). */
  readonly preferredVersion: string | undefined;
  readonly established: boolean;
}

/** One collection to list and watch, for one served version of one CRD. */
export interface WatchTarget {
  readonly id: string;
  readonly path: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
}

export function crdInfo(crd: Record<string, unknown>): CrdInfo | undefined {
  const spec = crd.spec as
    | {
        group?: string;
        scope?: string;
        names?: { kind?: string; plural?: string };
        versions?: { name?: string; served?: boolean; storage?: boolean }[];
      }
    | undefined;
  const status = crd.status as { conditions?: { type?: string; status?: string }[] } | undefined;
  if (!spec?.group || !spec.names?.kind || !spec.names.plural) return undefined;
  // A version without `served` counts as served (KSM's extractGVKPs).
  const served = (spec.versions ?? []).filter((v) => v.name && v.served !== false);
  return {
    group: spec.group,
    kind: spec.names.kind,
    plural: spec.names.plural,
    namespaced: spec.scope !== 'Cluster',
    servedVersions: served.map((v) => v.name!),
    preferredVersion: (served.find((v) => v.storage === true) ?? served[0])?.name,
    established: (status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True'),
  };
}

/**
 * The collections to watch for the configured resources, given the installed CRDs: wildcards
 * expand to every served version and every kind of the group, as in kube-state-metrics; a
 * resource with `namespaces` gets one watch per namespace. A group wildcard (an extension, for
 * whole-cluster health) takes one version per kind, the stored one: every served version of a
 * kind holds the same objects, and watching each would count every object once per version.
 */
export function resolveTargets(
  resources: readonly ResourceConfig[],
  crds: Iterable<CrdInfo>,
): Map<string, WatchTarget> {
  const targets = new Map<string, WatchTarget>();
  const installed = [...crds].filter((c) => c.established);
  for (const resource of resources) {
    const gvk = resource.groupVersionKind;
    for (const crd of installed) {
      if (!matchesPart(gvk.group, crd.group) || !matchesPart(gvk.kind, crd.kind)) continue;
      const versions =
        isWildcard(gvk.group) && isWildcard(gvk.version)
          ? crd.preferredVersion === undefined
            ? []
            : [crd.preferredVersion]
          : crd.servedVersions.filter((v) => matchesPart(gvk.version, v));
      for (const version of versions) {
        const namespaces =
          crd.namespaced && resource.namespaces.length > 0 ? resource.namespaces : [undefined];
        for (const ns of namespaces) {
          const id = `${crd.group}/${version}/${crd.plural}${ns ? `@${ns}` : ''}`;
          targets.set(id, {
            id,
            path: ns
              ? `/apis/${crd.group}/${version}/namespaces/${ns}/${crd.plural}`
              : `/apis/${crd.group}/${version}/${crd.plural}`,
            group: crd.group,
            version,
            kind: crd.kind,
            plural: crd.plural,
            labelSelector: resource.labelSelector,
            fieldSelector: crd.namespaced
              ? resource.fieldSelector
              : withoutNamespaceExclusions(resource.fieldSelector),
          });
        }
      }
    }
  }
  return targets;
}

/**
 * A field selector for a cluster-scoped kind: the API server refuses `metadata.namespace` there
 * (400, "field label not supported"), which would keep the collection from ever syncing. A
 * `metadata.namespace!=NS` term (what --namespaces-denylist adds) holds for every object without a
 * namespace, so it is dropped; any other term is kept and refused as written.
 */
export function withoutNamespaceExclusions(selector: string | undefined): string | undefined {
  if (selector === undefined) return undefined;
  const kept = selector
    .split(/(?<!\\),/)
    .filter((term) => !/^\s*metadata\.namespace\s*!=/.test(term))
    .join(',');
  return kept === '' ? undefined : kept;
}
