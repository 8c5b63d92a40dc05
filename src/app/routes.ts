import { CONTENT_TYPES } from '../exposition/ExpositionFormat.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import type { EncodedBody } from '../exposition/ExpositionBody.ts';
import type { HttpResponse, Route, RouteHandler } from '../http/HttpServer.ts';
import { landingPage } from '../http/landingPage.ts';
import { negotiateFormat } from '../http/negotiate.ts';
import type { ReloadOutcome } from './Pipeline.ts';

/** What the routes need to know about the running bridge, and nothing more. */
export interface BridgeStatus {
  readonly version: string;
  readonly objectCount: number;
  /** Collections of the serving config without data yet, with the reason; empty = ready. */
  notSynced(): readonly string[];
  /** undefined when the Prometheus endpoint is disabled (OTEL_METRICS_EXPORTER). */
  scrapeCustomResources(format: ExpositionFormat): Promise<EncodedBody> | undefined;
  scrapeSelfMetrics(format: ExpositionFormat): Promise<string> | undefined;
  reload(): Promise<ReloadOutcome>;
  /** `/explain` on the telemetry listener (see app/explain/explainEndpoint.ts). */
  explain?(params: URLSearchParams): Promise<{ status: number; body: string }>;
}

export interface RouteOptions {
  /** Path of the metrics endpoint on both listeners. */
  readonly metricsPath: string;
  /** Serve POST/PUT /-/reload (Prometheus' --web.enable-lifecycle). */
  readonly enableLifecycle: boolean;
}

const PLAIN = 'text/plain; charset=utf-8';

function plain(status: number, body: string): HttpResponse {
  return { status, contentType: PLAIN, body };
}

/** /healthz, /livez (the process answers) and /readyz (every collection synced, else which not and why). */
export function healthRoutes(status: BridgeStatus): Map<string, Route> {
  const ok: RouteHandler = () => plain(200, 'ok\n');
  const ready: RouteHandler = () => {
    const waiting = status.notSynced();
    return waiting.length === 0
      ? plain(200, 'ok\n')
      : plain(503, `not ready: waiting for ${waiting.join(', ')}\n`);
  };
  return new Map<string, Route>([
    ['/healthz', ok],
    ['/livez', ok],
    ['/readyz', ready],
  ]);
}

/**
 * `/-/reload` as Prometheus has it: GET is 405; POST and PUT reload when the lifecycle API is
 * enabled (200 once applied, 500 with the problems otherwise) and are 403 when it is not.
 * Concurrent requests share one reload (see Pipeline): each answers with the outcome of the
 * reload that read the file after it arrived.
 */
function reloadRoute(status: BridgeStatus, enabled: boolean): Route {
  return {
    methods: ['POST', 'PUT'],
    handler: async () => {
      if (!enabled) return plain(403, 'Lifecycle API is not enabled.\n');
      const outcome = await status.reload();
      switch (outcome.status) {
        case 'applied':
          return plain(
            200,
            outcome.notSynced.length > 0
              ? `config reloaded; not synced yet: ${outcome.notSynced.join(', ')}\n`
              : 'config reloaded\n',
          );
        case 'failed':
          return plain(500, `failed to reload config: ${outcome.problems.join('; ')}\n`);
        case 'unchanged':
          return plain(200, 'config unchanged\n');
        default:
          return plain(503, 'config reload abandoned: shutting down\n');
      }
    },
  };
}

/** Main listener: the custom-resource metrics, health, landing page and lifecycle. */
export function mainRoutes(status: BridgeStatus, options: RouteOptions): Map<string, Route> {
  const routes = healthRoutes(status);
  routes.set('/', () => ({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: landingPage({
      version: status.version,
      metricsPath: options.metricsPath,
      ready: status.notSynced().length === 0,
      objects: status.objectCount,
    }),
  }));
  routes.set(options.metricsPath, async (req) => {
    const format = negotiateFormat(req.headers.accept);
    const body = status.scrapeCustomResources(format);
    if (!body) return plain(404, 'the Prometheus endpoint is disabled (OTEL_METRICS_EXPORTER)\n');
    return { status: 200, contentType: CONTENT_TYPES[format], body: await body, compressible: true };
  });
  routes.set('/-/reload', reloadRoute(status, options.enableLifecycle));
  return routes;
}

/** Telemetry listener: the bridge's own metrics (negotiated like the main listener) and health. */
export function telemetryRoutes(status: BridgeStatus, options: RouteOptions): Map<string, Route> {
  const routes = healthRoutes(status);
  routes.set(options.metricsPath, async (req) => {
    const format = negotiateFormat(req.headers.accept);
    const body = status.scrapeSelfMetrics(format);
    if (!body) return plain(404, 'disabled\n');
    return { status: 200, contentType: CONTENT_TYPES[format], body: await body, compressible: true };
  });
  const explain = status.explain?.bind(status);
  if (explain)
    routes.set('/explain', async (req) => {
      const answer = await explain(new URL(req.url ?? '/', 'http://localhost').searchParams);
      return plain(answer.status, answer.body);
    });
  return routes;
}
