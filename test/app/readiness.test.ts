// Readiness of a Kubernetes source whose watch goes silent: the reflector (fake lister-watcher,
// fake clock) presumes it dead, the generation reports it, and /readyz says 503 and why until a
// new watch is established. test/integration/kubeDeadWatch.test.ts does the same end to end.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigGeneration } from '../../src/app/ConfigGeneration.ts';
import { healthRoutes } from '../../src/app/routes.ts';
import { parseConfig } from '../../src/config/loadConfig.ts';
import { compileConfig } from '../../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../../src/engine/ObjectErrors.ts';
import type { IncomingMessage } from 'node:http';
import type { RouteHandler } from '../../src/http/HttpServer.ts';
import { KubeSource } from '../../src/kube/KubeSource.ts';
import type { KubeObject } from '../../src/kube/KubeObject.ts';
import { FakeClock, FakeListerWatcher, page, settle } from '../kube/fakes.ts';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WIDGETS = '/apis/example.com/v1/widgets';

const crd: KubeObject = {
  metadata: { name: 'widgets.example.com', resourceVersion: '1' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets' },
    versions: [{ name: 'v1', served: true }],
  },
  status: { conditions: [{ type: 'Established', status: 'True' }] },
};

const widget: KubeObject = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w1', namespace: 'ns', resourceVersion: '5' },
  spec: { size: 3 },
};

const running: ConfigGeneration[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

describe('readiness of a watch presumed dead', () => {
  it('/readyz is 503 naming the collection and why while its watch is presumed dead, 200 once a new one is established', async () => {
    const clock = new FakeClock();
    const lws = new Map<string, FakeListerWatcher>([
      [CRDS, new FakeListerWatcher().onList(() => page([crd], '10'))],
      [WIDGETS, new FakeListerWatcher().onList(() => page([widget], '10'))],
    ]);
    const config = compileConfig(
      parseConfig(
        'spec:\n  resources:\n    - groupVersionKind: { group: example.com, version: v1, kind: Widget }\n      metrics:\n        - name: size\n          help: h\n          each: { type: Gauge, gauge: { path: [spec, size] } }\n',
        'c.yaml',
      ),
    );
    const generation = new ConfigGeneration(config, {
      errors: new ObjectErrors(),
      sources: (_config, sink) => [
        new KubeSource({
          server: 'https://fake',
          listerWatcher: (target) => lws.get(target.path)!,
          resources: config.resources.map((r) => r.config),
          sink,
          logger: pino({ level: 'silent' }),
          initialSync: 'list',
          clock,
        }),
      ],
    });
    running.push(generation);
    const crdWatch = lws.get(CRDS)!;
    const widgets = lws.get(WIDGETS)!;
    void generation.start();
    for (let i = 0; i < 20 && widgets.watches.length === 0; i++) await settle();
    const readyz = healthRoutes({
      version: 'test',
      objectCount: 0,
      notSynced: () => generation.notSynced(),
      scrapeCustomResources: () => undefined,
      scrapeSelfMetrics: () => undefined,
      reload: () => Promise.resolve({ status: 'unchanged' }),
    }).get('/readyz') as RouteHandler;
    const ready = async () => {
      const response = await readyz({} as IncomingMessage);
      assert.equal(typeof response.body, 'string');
      return `${response.status} ${response.body as string}`;
    };
    assert.equal(await ready(), '200 ok\n');

    // The server ends the CRD watch at its timeout; the widgets watch goes silent.
    await clock.advance(30_000);
    crdWatch.lastWatch.end();
    await clock.advance(9_000);
    assert.equal(await ready(), '200 ok\n', 'not before its timeout plus the grace');
    await clock.advance(1_000);
    assert.equal(widgets.lastWatch.aborted, true);
    assert.equal(
      await ready(),
      '503 not ready: waiting for example.com/v1/widgets (watch silent for 40 s, not ended by the server at its 30 s timeout; presumed dead, reconnecting)\n',
    );
    await clock.advance(1300);
    assert.equal(widgets.watches.length, 2);
    assert.equal(await ready(), '200 ok\n');
  });
});
