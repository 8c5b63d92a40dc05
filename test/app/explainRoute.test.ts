import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { mainRoutes, telemetryRoutes } from '../../src/app/routes.ts';
import type { BridgeStatus } from '../../src/app/routes.ts';

const options = { metricsPath: '/metrics', enableLifecycle: false };

function status(explain?: BridgeStatus['explain']): BridgeStatus {
  return {
    version: '0',
    objectCount: 0,
    notSynced: () => [],
    scrapeCustomResources: () => undefined,
    scrapeSelfMetrics: () => undefined,
    reload: () => Promise.resolve({ status: 'unchanged' }),
    ...(explain ? { explain } : {}),
  };
}

describe('/explain route', () => {
  it('is on the telemetry listener only, hands over the query and answers in text/plain', async () => {
    const asked: string[] = [];
    const bridge = status((params) => {
      asked.push(params.toString());
      return Promise.resolve({ status: 422, body: 'error: nope\n' });
    });
    assert.equal(mainRoutes(bridge, options).has('/explain'), false);
    const route = telemetryRoutes(bridge, options).get('/explain');
    assert.ok(route && typeof route === 'function');
    const request = { url: '/explain?resource=widgets.example.com&name=w&namespace=a%20b', headers: {} };
    const response = await route(request as unknown as IncomingMessage);
    assert.deepEqual(asked, ['resource=widgets.example.com&name=w&namespace=a+b']);
    assert.equal(response.status, 422);
    assert.equal(response.body, 'error: nope\n');
    assert.match(response.contentType, /^text\/plain/);
  });

  it('is absent when the status cannot explain', () => {
    assert.equal(telemetryRoutes(status(), options).has('/explain'), false);
  });
});
