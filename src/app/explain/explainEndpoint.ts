import type { CompiledConfig } from '../../engine/generate/CompiledConfig.ts';
import type { SeriesLimits } from '../../engine/limits.ts';
import type { KubeClient } from '../../kube/KubeClient.ts';
import type { ShardAssignment } from '../../kube/sharding.ts';
import { explainLiveObject } from './explainLive.ts';
import { formatExplanation, hasError } from './formatExplanation.ts';
import { parseLiveTarget } from './liveTarget.ts';

/** What `/explain` needs of the running bridge. */
export interface ExplainEndpointContext {
  /** The config serving now. */
  readonly config: CompiledConfig;
  readonly limitFlags: Partial<SeriesLimits>;
  /** This replica's shard, when sharding. */
  readonly shard: ShardAssignment | undefined;
  /** The bridge's `--namespaces` and `--namespaces-denylist`. */
  readonly namespaceFlags: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** The bridge's own client; undefined with the files source. */
  readonly client: KubeClient | undefined;
}

export interface ExplainAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * Explanations answered at once, per process: each costs the API server a discovery, a get and a
 * list, so a burst of requests is turned away with 429 rather than passed on.
 */
export const MAX_EXPLAIN_IN_FLIGHT = 4;
let inFlight = 0;

/**
 * `GET /explain?resource=TYPE[.GROUP]&name=NAME[&namespace=NS]` on the telemetry listener: the
 * same explanation as `explain --config C TYPE/NAME -n NS`, for the config the bridge serves and
 * as this replica (its shard) sees it. The bridge keeps series, not objects, so the object is
 * fetched again with the bridge's own client (one GET, and one list of at most one item to see
 * that RBAC allows the list). 200 with the explanation, ending in `result: ok` or `result: error`
 * (the CLI's exit code 0 or 1); 400 for bad parameters; 422 when the object cannot be explained
 * (not found, unknown type: one line); 429 past MAX_EXPLAIN_IN_FLIGHT; 501 without the
 * Kubernetes source.
 */
export async function answerExplain(
  params: URLSearchParams,
  context: ExplainEndpointContext,
): Promise<ExplainAnswer> {
  const resource = params.get('resource') ?? '';
  const name = params.get('name') ?? '';
  const namespace = params.get('namespace') ?? undefined;
  const target = parseLiveTarget(`${resource}/${name}`, namespace === '' ? undefined : namespace);
  if (!target)
    return {
      status: 400,
      body: 'explain takes resource=TYPE[.GROUP] (a kind, plural or singular name, e.g. widgets.example.com), name=NAME and, for a namespaced object, namespace=NS\n',
    };
  if (!context.client)
    return {
      status: 501,
      body: 'explain needs the kubernetes source; with files, run crd-metrics-bridge explain --config C FILE\n',
    };
  if (inFlight >= MAX_EXPLAIN_IN_FLIGHT)
    return {
      status: 429,
      body: `too many explain requests at once (at most ${MAX_EXPLAIN_IN_FLIGHT}); retry\n`,
    };
  inFlight++;
  let result;
  try {
    result = await explainLiveObject(
      {
        config: context.config,
        shard: context.shard,
        limitFlags: context.limitFlags,
        namespaceFlags: context.namespaceFlags,
      },
      context.client,
      target,
    );
  } finally {
    inFlight--;
  }
  if (!result.explanation) return { status: 422, body: `error: ${result.problem}\n` };
  return {
    status: 200,
    body: `${formatExplanation(result.explanation)}result: ${hasError(result.explanation) ? 'error' : 'ok'}\n`,
  };
}
