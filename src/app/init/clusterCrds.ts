import { isMap } from '../../go/kubeJson.ts';
import { KubeApiError, KubeClient, KubeCredentialsError } from '../../kube/KubeClient.ts';
import type { KubeClientOptions } from '../../kube/KubeClient.ts';
import type { CrdInput, CrdReadResult } from './readCrds.ts';

/** `GROUP/KIND` or `GROUP/*`, as given on the command line. */
export interface ClusterTarget {
  readonly group: string;
  /** A kind, plural or singular resource name; `*` for every kind of the group. */
  readonly kind: string;
}

/** Parses `GROUP/KIND` (or `GROUP/*`); undefined when it is not of that form. */
export function parseClusterTarget(text: string): ClusterTarget | undefined {
  const slash = text.lastIndexOf('/');
  if (slash <= 0 || slash === text.length - 1) return undefined;
  const group = text.slice(0, slash);
  const kind = text.slice(slash + 1);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(group) || !/^(\*|[A-Za-z0-9][-A-Za-z0-9.]*)$/.test(kind))
    return undefined;
  return { group, kind };
}

/** How long one request may take; `init` is interactive. */
const REQUEST_TIMEOUT_MS = 30_000;

interface DiscoveredResource {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
}

/**
 * Reads the CRDs of the given kinds from the cluster with the credentials `run` uses. Finds each
 * kind's resource name through discovery (any authenticated user may read it), then gets its CRD
 * (`get customresourcedefinitions/<plural>.<group>`, the one permission needed).
 */
export async function readClusterCrds(
  targets: readonly ClusterTarget[],
  options: Pick<KubeClientOptions, 'kubeconfig' | 'context'>,
): Promise<CrdReadResult> {
  const crds: CrdInput[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  let client: KubeClient;
  try {
    client = new KubeClient(options);
  } catch (err) {
    if (err instanceof KubeCredentialsError) return { crds, problems: [err.message], notes };
    throw err;
  }
  const get = async (path: string): Promise<unknown> => {
    const response = await client.get(path, {}, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    return response.json();
  };
  const failure = (what: string, err: unknown): string => {
    if (err instanceof KubeApiError) return `${what}: ${err.message}`;
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as NodeJS.ErrnoException).code;
    return `${what}: cannot reach the API server ${client.server}: ${cause ?? (err as Error).message}`;
  };
  try {
    const discovered = new Map<string, DiscoveredResource[]>();
    for (const target of targets) {
      const label = `${target.group}/${target.kind}`;
      let resources = discovered.get(target.group);
      if (!resources) {
        try {
          resources = await discover(get, target.group);
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) {
            problems.push(`${label}: the cluster serves no API group ${target.group}`);
            continue;
          }
          problems.push(failure(label, err));
          continue;
        }
        discovered.set(target.group, resources);
      }
      const chosen = target.kind === '*' ? resources : matchKind(resources, target.kind).slice(0, 1);
      if (chosen.length === 0) {
        const kinds = resources.map((r) => r.kind).join(', ') || 'none';
        problems.push(`${label}: no kind ${target.kind} in the API group ${target.group} (kinds: ${kinds})`);
        continue;
      }
      for (const resource of chosen) {
        const crdName = `${resource.plural}.${target.group}`;
        const where = `the cluster (${target.group}/${resource.kind})`;
        if (crds.some((c) => c.where === where)) continue;
        try {
          const object = await get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
          if (isMap(object)) crds.push({ object, where });
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) {
            const line = `${target.group}/${resource.kind}: not a custom resource (no CRD ${crdName}: a built-in or aggregated API)`;
            if (target.kind === '*') notes.push(`skipped ${line}`);
            else problems.push(line);
          } else if (err instanceof KubeApiError && err.status === 403) {
            problems.push(
              `${target.group}/${resource.kind}: forbidden to get customresourcedefinitions/${crdName} (grant get on customresourcedefinitions.apiextensions.k8s.io): ${err.message}`,
            );
          } else problems.push(failure(`${target.group}/${resource.kind}`, err));
        }
      }
    }
  } finally {
    await client.close();
  }
  return { crds, problems, notes };
}

/** The kinds of an API group, over all its served versions (discovery), sorted by kind. */
async function discover(
  get: (path: string) => Promise<unknown>,
  group: string,
): Promise<DiscoveredResource[]> {
  const apiGroup = await get(`/apis/${group}`);
  const versions = isMap(apiGroup) && Array.isArray(apiGroup.versions) ? apiGroup.versions : [];
  const byKind = new Map<string, DiscoveredResource>();
  for (const v of versions) {
    if (!isMap(v) || typeof v.version !== 'string') continue;
    const list = await get(`/apis/${group}/${v.version}`);
    const resources = isMap(list) && Array.isArray(list.resources) ? list.resources : [];
    for (const r of resources) {
      if (!isMap(r) || typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/'))
        continue;
      if (!byKind.has(r.kind))
        byKind.set(r.kind, {
          kind: r.kind,
          plural: r.name,
          singular: typeof r.singularName === 'string' ? r.singularName : '',
        });
    }
  }
  return [...byKind.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

/** The kind named exactly, else by kind, plural or singular name in any case (`certificates`). */
function matchKind(resources: readonly DiscoveredResource[], name: string): DiscoveredResource[] {
  const exact = resources.filter((r) => r.kind === name);
  if (exact.length > 0) return exact;
  const lower = name.toLowerCase();
  return resources.filter(
    (r) =>
      r.kind.toLowerCase() === lower || r.plural === lower || (r.singular !== '' && r.singular === lower),
  );
}
