import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { ReloadOutcome } from '../../src/app/Pipeline.ts';
import { mainRoutes, telemetryRoutes } from '../../src/app/routes.ts';
import type { BridgeStatus } from '../../src/app/routes.ts';
import { ExpositionBody } from '../../src/exposition/ExpositionBody.ts';
import type { ExpositionFormat } from '../../src/exposition/ExpositionFormat.ts';
import type { HttpResponse, Route } from '../../src/http/HttpServer.ts';

/** A body in pieces, as a real scrape streams it. */
function pieces(...texts: string[]): ExpositionBody {
  return new ExpositionBody(() => texts);
}

/** A bridge as the routes see it, with what each call asked for. */
function fakeStatus(overrides: Partial<BridgeStatus> = {}) {
  const scraped: ExpositionFormat[] = [];
  let reloads = 0;
  const status: BridgeStatus = {
    version: '9.9.9',
    objectCount: 42,
    notSynced: () => [],
    scrapeCustomResources: (format) => {
      scraped.push(format);
      return Promise.resolve(pieces('custom ', `${format}\n`));
    },
    scrapeSelfMetrics: (format) => Promise.resolve(`self ${format}\n`),
    reload: () => {
      reloads++;
      return Promise.resolve({ status: 'applied', notSynced: [] });
    },
    ...overrides,
  };
  return { status, scraped, reloads: () => reloads };
}

const options = { metricsPath: '/metrics', enableLifecycle: true };

function request(headers: Record<string, string> = {}): IncomingMessage {
  return { headers, method: 'GET', url: '/' } as unknown as IncomingMessage;
}

async function call(routes: Map<string, Route>, path: string, headers: Record<string, string> = {}) {
  const route = routes.get(path);
  assert.ok(route, `route ${path}`);
  const handler = typeof route === 'function' ? route : route.handler;
  return handler(request(headers));
}

async function bodyText(response: HttpResponse): Promise<string> {
  if (typeof response.body === 'string') return response.body;
  let text = '';
  for await (const piece of response.body) text += piece;
  return text;
}

describe('routes', () => {
  it('/healthz and /livez answer ok; /readyz names what it waits for', async () => {
    let waiting: string[] = ['foos (listing)', 'bars (forbidden)'];
    const { status } = fakeStatus({ notSynced: () => waiting });
    const routes = mainRoutes(status, options);
    for (const path of ['/healthz', '/livez']) {
      const r = await call(routes, path);
      assert.equal(r.status, 200);
      assert.equal(await bodyText(r), 'ok\n');
    }
    const notReady = await call(routes, '/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(await bodyText(notReady), 'not ready: waiting for foos (listing), bars (forbidden)\n');
    waiting = [];
    assert.equal((await call(routes, '/readyz')).status, 200);
  });

  it('/metrics negotiates the format, is compressible, and says when the endpoint is disabled', async () => {
    const { status, scraped } = fakeStatus();
    const routes = mainRoutes(status, options);
    const text = await call(routes, '/metrics');
    assert.equal(text.status, 200);
    assert.equal(text.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(text.compressible, true);
    assert.equal(await bodyText(text), 'custom text\n');
    const om = await call(routes, '/metrics', {
      accept: 'application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5',
    });
    assert.equal(om.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.equal(await bodyText(om), 'custom openmetrics\n');
    assert.deepEqual(scraped, ['text', 'openmetrics']);

    const disabled = mainRoutes(fakeStatus({ scrapeCustomResources: () => undefined }).status, options);
    const r = await call(disabled, '/metrics');
    assert.equal(r.status, 404);
    assert.match(await bodyText(r), /OTEL_METRICS_EXPORTER/);
  });

  it('the metrics path is configurable, on both listeners', async () => {
    const { status } = fakeStatus();
    const custom = { ...options, metricsPath: '/custom' };
    assert.equal(mainRoutes(status, custom).has('/metrics'), false);
    assert.equal(await bodyText(await call(mainRoutes(status, custom), '/custom')), 'custom text\n');
    assert.equal(await bodyText(await call(telemetryRoutes(status, custom), '/custom')), 'self text\n');
  });

  it('the telemetry listener serves the self-metrics and health, not the landing page or reload', async () => {
    const { status } = fakeStatus();
    const routes = telemetryRoutes(status, options);
    assert.equal(routes.has('/'), false);
    assert.equal(routes.has('/-/reload'), false);
    assert.equal((await call(routes, '/healthz')).status, 200);
    const disabled = telemetryRoutes(fakeStatus({ scrapeSelfMetrics: () => undefined }).status, options);
    assert.equal((await call(disabled, '/metrics')).status, 404);
  });

  it('the landing page shows the version, the metrics path, readiness and the object count', async () => {
    const { status } = fakeStatus({ notSynced: () => ['foos'] });
    const page = await bodyText(await call(mainRoutes(status, options), '/'));
    assert.match(page, /9\.9\.9/);
    assert.match(page, /href="\/metrics"/);
    assert.match(page, /42/);
  });

  it('/-/reload: POST and PUT only, 403 unless the lifecycle API is on, each outcome its status', async () => {
    const route = mainRoutes(fakeStatus().status, options).get('/-/reload');
    assert.ok(route && typeof route !== 'function');
    assert.deepEqual(route.methods, ['POST', 'PUT']);

    const off = fakeStatus();
    const offRoute = mainRoutes(off.status, { ...options, enableLifecycle: false }).get('/-/reload');
    assert.ok(offRoute && typeof offRoute !== 'function');
    const refused = await offRoute.handler(request());
    assert.equal(refused.status, 403);
    assert.equal(off.reloads(), 0, 'no reload when the lifecycle API is off');

    const cases: [ReloadOutcome, number, string][] = [
      [{ status: 'applied', notSynced: [] }, 200, 'config reloaded\n'],
      [{ status: 'applied', notSynced: ['foos'] }, 200, 'config reloaded; not synced yet: foos\n'],
      [{ status: 'unchanged' }, 200, 'config unchanged\n'],
      [
        { status: 'failed', problems: ['a.yaml:3: bad', 'a.yaml:9: worse'] },
        500,
        'failed to reload config: a.yaml:3: bad; a.yaml:9: worse\n',
      ],
      [{ status: 'superseded' }, 503, 'config reload abandoned: shutting down\n'],
    ];
    for (const [outcome, code, body] of cases) {
      const on = mainRoutes(fakeStatus({ reload: () => Promise.resolve(outcome) }).status, options).get(
        '/-/reload',
      );
      assert.ok(on && typeof on !== 'function');
      const r = await on.handler(request());
      assert.equal(r.status, code, outcome.status);
      assert.equal(await bodyText(r), body);
    }
  });
});
