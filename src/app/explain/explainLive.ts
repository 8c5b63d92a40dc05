import { isMap, parseKubeJson } from '../../go/kubeJson.ts';
import { KubeApiError, KubeClient, KubeCredentialsError } from '../../kube/KubeClient.ts';
import type { KubeClientOptions } from '../../kube/KubeClient.ts';
import type { CompiledResource } from '../../engine/generate/CompiledResource.ts';
import { formatGvk, isWildcard } from '../../model/gvk.ts';
import { explainObject, unreadableObject } from './explainObject.ts';
import type { ExplainSettings, ObjectExplanation } from './explainObject.ts';
import type { LiveTarget } from './liveTarget.ts';
import { where } from './where.ts';

/** What one live explanation gives: the explanation, or a problem that stopped it (one line). */
export type LiveResult =
  | { readonly explanation: ObjectExplanation; readonly problem?: undefined }
  | { readonly problem: string; readonly explanation?: undefined };

/** How long one request may take: explain is interactive. */
const REQUEST_TIMEOUT_MS = 30_000;

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly singular: string;
  readonly namespaced: boolean;
}

/**
 * Fetches the object with `client` (GET, as `kubectl get` does) at the version the config's
 * resource entry lists, and explains it. Says, as the reason for every family of the entry, when
 * the version is not served or RBAC forbids the get, or the list and watch the bridge needs.
 */
export async function explainLiveObject(
  settings: ExplainSettings,
  client: KubeClient,
  target: LiveTarget,
): Promise<LiveResult> {
  const get = async (path: string, query: Record<string, string> = {}): Promise<unknown> => {
    const response = await client.get(path, query, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    return parseKubeJson(await response.text());
  };
  const resources = settings.config.resources;
  const groups =
    target.group !== undefined
      ? [target.group]
      : [...new Set(resources.map((r) => r.groupVersionKind.group))];
  if (groups.some((g) => isWildcard(g)))
    return {
      problem: `the config has a group wildcard: name the group, as ${target.type}.GROUP/${target.name}`,
    };
  const unreachable = (err: unknown) => {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as NodeJS.ErrnoException).code;
    return `cannot reach the API server ${client.server}: ${cause ?? (err as Error).message}`;
  };

  const tried: string[] = [];
  let unservedEntry: LiveResult | undefined;
  for (const group of groups) {
    const entries = resources.filter(
      (r) => r.groupVersionKind.group === group || isWildcard(r.groupVersionKind.group),
    );
    let apiGroup: unknown;
    try {
      apiGroup = await get(`/apis/${group}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        tried.push(`the cluster serves no API group ${group}`);
        continue;
      }
      if (err instanceof KubeApiError) return { problem: `discovery of ${group}: ${err.message}` };
      return { problem: unreachable(err) };
    }
    const served = servedVersions(apiGroup);
    const preferred =
      isMap(apiGroup) && isMap(apiGroup.preferredVersion) ? apiGroup.preferredVersion.version : undefined;
    // The versions the config's entries for this group list, each looked up in discovery.
    const versions = [
      ...new Set(
        entries.map((r) =>
          isWildcard(r.groupVersionKind.version)
            ? typeof preferred === 'string'
              ? preferred
              : served[0]!
            : r.groupVersionKind.version,
        ),
      ),
    ];
    for (const version of versions) {
      const entry = entriesFor(entries, version);
      if (!served.includes(version)) {
        // Not served, so no discovery to map a plural to its kind: the kind, or its usual plural.
        const match = entry.find((r) => {
          const kind = r.groupVersionKind.kind.toLowerCase();
          const type = target.type.toLowerCase();
          return !isWildcard(kind) && (type === kind || type === `${kind}s` || type === `${kind}es`);
        });
        // Said only when no served version of the kind is configured either (below).
        if (match)
          unservedEntry ??= {
            explanation: unreadableObject(
              match,
              { group, version, kind: match.groupVersionKind.kind },
              { namespace: target.namespace, name: target.name, origin: client.server },
              `the CRD version ${version} is not served by the cluster (${group} serves: ${served.join(', ') || 'none'}); the bridge cannot list it`,
            ),
          };
        continue;
      }
      let list: unknown;
      try {
        list = await get(`/apis/${group}/${version}`);
      } catch (err) {
        if (err instanceof KubeApiError)
          return { problem: `discovery of ${group}/${version}: ${err.message}` };
        return { problem: unreachable(err) };
      }
      const api = apiResources(list).find((r) => nameMatches(r, target.type));
      if (!api) continue;
      const configured = entry.filter((r) => kindMatches(r.groupVersionKind.kind, api.kind));
      if (configured.length === 0) continue;
      const resource = configured.at(-1)!;
      const gvk = { group, version, kind: api.kind };
      const namespace = api.namespaced ? (target.namespace ?? 'default') : undefined;
      const ref = { namespace, name: target.name, origin: client.server };
      const base = `/apis/${group}/${version}`;
      const objectPath = `${base}${namespace ? `/namespaces/${namespace}` : ''}/${api.name}/${target.name}`;
      let object: unknown;
      try {
        object = await get(objectPath);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 403)
          return {
            explanation: unreadableObject(resource, gvk, ref, `RBAC forbids the get: ${err.message}`),
          };
        if (err instanceof KubeApiError && err.status === 404)
          return {
            problem: `${api.kind} ${namespace ? `${namespace}/` : ''}${target.name} not found in ${group}/${version} (${err.message})`,
          };
        if (err instanceof KubeApiError) return { problem: `get ${objectPath}: ${err.message}` };
        return { problem: unreachable(err) };
      }
      // The bridge lists and watches where the entry says: all namespaces, or its own ones.
      const listNamespace = namespace && resource.config.namespaces.length > 0 ? namespace : undefined;
      const listPath = `${base}${listNamespace ? `/namespaces/${listNamespace}` : ''}/${api.name}`;
      let blocked: string | undefined;
      try {
        await get(listPath, { limit: '1' });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 403)
          blocked = `RBAC forbids the list the bridge needs (with the same credentials it would serve nothing): ${err.message}`;
        else if (err instanceof KubeApiError) blocked = `the list the bridge needs fails: ${err.message}`;
        else return { problem: unreachable(err) };
      }
      return { explanation: explainObject(settings, object, client.server, undefined, blocked) };
    }
    if (unservedEntry) return unservedEntry;
    tried.push(`no configured kind of ${group} is named ${target.type}`);
  }
  const configured = resources
    .map((r) => `${formatGvk(r.groupVersionKind)} at ${where(r.config.location)}`)
    .join(', ');
  return {
    problem: `${target.type}/${target.name}: ${tried.join('; ') || 'no resource configured'} (configured: ${configured || 'none'})`,
  };
}

/** The CLI's live mode: one client for all targets, closed at the end. */
export async function explainLive(
  settings: ExplainSettings,
  targets: readonly LiveTarget[],
  options: Pick<KubeClientOptions, 'kubeconfig' | 'context'>,
): Promise<LiveResult[]> {
  let client: KubeClient;
  try {
    client = new KubeClient(options);
  } catch (err) {
    if (err instanceof KubeCredentialsError) return targets.map(() => ({ problem: err.message }));
    throw err;
  }
  try {
    const out: LiveResult[] = [];
    for (const target of targets) out.push(await explainLiveObject(settings, client, target));
    return out;
  } finally {
    await client.close();
  }
}

function servedVersions(apiGroup: unknown): string[] {
  const versions = isMap(apiGroup) && Array.isArray(apiGroup.versions) ? apiGroup.versions : [];
  return versions.flatMap((v) => (isMap(v) && typeof v.version === 'string' ? [v.version] : []));
}

function apiResources(list: unknown): ApiResource[] {
  const resources = isMap(list) && Array.isArray(list.resources) ? list.resources : [];
  return resources.flatMap((r) =>
    isMap(r) && typeof r.name === 'string' && typeof r.kind === 'string' && !r.name.includes('/')
      ? [
          {
            name: r.name,
            kind: r.kind,
            singular: typeof r.singularName === 'string' ? r.singularName : '',
            namespaced: r.namespaced === true,
          },
        ]
      : [],
  );
}

function entriesFor(entries: readonly CompiledResource[], version: string): CompiledResource[] {
  return entries.filter(
    (r) => isWildcard(r.groupVersionKind.version) || r.groupVersionKind.version === version,
  );
}

function kindMatches(configured: string, kindOrType: string): boolean {
  return isWildcard(configured) || configured.toLowerCase() === kindOrType.toLowerCase();
}

function nameMatches(resource: ApiResource, type: string): boolean {
  const lower = type.toLowerCase();
  return resource.kind.toLowerCase() === lower || resource.name === lower || resource.singular === lower;
}
