// KubeSource's CRD handling against fake lister-watchers: which collections it watches as CRDs
// come and go, what it reports, and when it counts as synced. (test/integration/kubernetes.test.ts
// checks the same end to end against a real API server.)
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/loadConfig.ts';
import { KubeSource } from '../../src/kube/KubeSource.ts';
import type { KubeObject } from '../../src/kube/KubeObject.ts';
import type { ReflectorTarget } from '../../src/kube/Reflector.ts';
import { CallbackSink } from '../../src/sources/CallbackSink.ts';
import { FakeClock, FakeListerWatcher, page, settle } from './fakes.ts';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

function crd(
  group: string,
  kind: string,
  plural: string,
  versions: string[],
  resourceVersion = '1',
): KubeObject {
  return {
    metadata: { name: `${plural}.${group}`, resourceVersion },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural },
      versions: versions.map((name) => ({ name, served: true })),
    },
    status: { conditions: [{ type: 'Established', status: 'True' }] },
  };
}

function widget(name: string, resourceVersion = '5'): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'ns', resourceVersion },
  };
}

const running: KubeSource[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** A KubeSource over one fake lister-watcher per collection path, with its log and sink recorded. */
function harness(resources: string) {
  const lws = new Map<string, FakeListerWatcher>();
  const lw = (path: string) => {
    let fake = lws.get(path);
    if (!fake) lws.set(path, (fake = new FakeListerWatcher()));
    return fake;
  };
  type Log = { msg: string; target?: string; resource?: string };
  const logs: Log[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Log) },
  );
  const store = new Map<string, string>();
  const config = parseConfig(`spec:\n  resources:\n${resources}`, 'c.yaml');
  const source = new KubeSource({
    server: 'https://fake',
    listerWatcher: (target: ReflectorTarget) => lw(target.path),
    resources: config.resources,
    sink: new CallbackSink({
      upsert: (key, object) => void store.set(key, (object as KubeObject).metadata?.name ?? ''),
      delete: (key) => void store.delete(key),
    }),
    logger,
    initialSync: 'list',
    clock: new FakeClock(),
  });
  running.push(source);
  return { source, lw, logs, store, names: () => [...store.values()].sort() };
}

const WIDGETS = `    - groupVersionKind: { group: example.com, version: v1, kind: Widget }
      metrics:
        - name: w
          each: { type: Gauge, gauge: { path: [spec, size] } }
`;

describe('KubeSource', () => {
  it('a configured resource without a CRD is reported once, and picked up when its CRD appears', async () => {
    const h = harness(WIDGETS);
    h.lw(CRDS).onList(() => page([], '10'));
    await h.source.start();
    assert.equal(h.source.synced, true, 'synced with nothing to list');
    const missing = h.logs.filter((l) => l.msg.startsWith('configured resource has no installed CRD'));
    assert.deepEqual(
      missing.map((l) => l.resource),
      ['example.com/v1/Widget'],
    );
    h.lw('/apis/example.com/v1/widgets').onList(() => page([widget('w1'), widget('w2')], '20'));
    h.lw(CRDS).lastWatch.push('ADDED', crd('example.com', 'Widget', 'widgets', ['v1'], '11'));
    await settle();
    assert.deepEqual(h.names(), ['w1', 'w2']);
    assert.equal(h.source.synced, true);
    assert.equal(
      h.logs.filter((l) => l.msg.startsWith('configured resource has no installed CRD')).length,
      1,
      'reported once',
    );
  });

  it('redeliver relists only the collections the keys belong to', async () => {
    const h = harness(
      WIDGETS +
        `    - groupVersionKind: { group: example.com, version: v1, kind: Gadget }
      metrics:
        - name: g
          each: { type: Gauge, gauge: { path: [spec, size] } }
`,
    );
    h.lw(CRDS).onList(() =>
      page(
        [crd('example.com', 'Widget', 'widgets', ['v1']), crd('example.com', 'Gadget', 'gadgets', ['v1'])],
        '10',
      ),
    );
    const widgets = () => page([widget('w1')], '20');
    h.lw('/apis/example.com/v1/widgets').onList(widgets, widgets);
    h.lw('/apis/example.com/v1/gadgets').onList(() => page([], '20'));
    await h.source.start();
    const key = [...h.store.keys()][0]!;
    assert.match(key, /^example\.com\/v1\/widgets\|/);
    h.source.redeliver([key, 'not/a/known|key', 'some-file\u0000x']);
    await settle();
    assert.equal(h.lw('/apis/example.com/v1/widgets').lists.length, 2, 'the widgets listed again');
    assert.equal(h.lw('/apis/example.com/v1/gadgets').lists.length, 1, 'the gadgets not');
    assert.deepEqual(h.names(), ['w1']);
  });

  it('start() resolves only when the collections the CRD list started are listed', async () => {
    const h = harness(WIDGETS);
    h.lw(CRDS).onList(() => page([crd('example.com', 'Widget', 'widgets', ['v1'])], '10'));
    let release!: () => void;
    const listed = new Promise<void>((resolve) => (release = resolve));
    h.lw('/apis/example.com/v1/widgets').onList(async () => {
      await listed;
      return page([widget('w1')], '20');
    });
    let started = false;
    const start = h.source.start().then(() => (started = true));
    await settle();
    assert.equal(started, false, 'the widgets list is still running');
    assert.equal(h.source.synced, false);
    release();
    await start;
    assert.deepEqual(h.names(), ['w1']);
    assert.equal(h.source.synced, true);
    assert.deepEqual(
      [...h.source.targets()].map((t) => [t.id, t.synced, t.objects]),
      [
        ['apiextensions.k8s.io/v1/customresourcedefinitions', true, 1],
        ['example.com/v1/widgets', true, 1],
      ],
    );
  });

  it('a deleted CRD drops its collection and every object it delivered', async () => {
    const h = harness(WIDGETS);
    const widgets = crd('example.com', 'Widget', 'widgets', ['v1']);
    h.lw(CRDS).onList(() => page([widget('ignored-not-a-crd'), widgets], '10'));
    h.lw('/apis/example.com/v1/widgets').onList(() => page([widget('w1'), widget('w2')], '20'));
    await h.source.start();
    assert.deepEqual(h.names(), ['w1', 'w2']);
    h.lw(CRDS).lastWatch.push('DELETED', widgets);
    await settle();
    assert.deepEqual(h.names(), []);
    assert.ok(h.logs.some((l) => l.msg.startsWith('CRD removed') && l.target === 'example.com/v1/widgets'));
    assert.deepEqual(
      [...h.source.targets()].map((t) => t.id),
      ['apiextensions.k8s.io/v1/customresourcedefinitions'],
    );
  });

  it('a version wildcard watches every served version; a CRD deleted during a watch gap is found by the relist', async () => {
    const h = harness(`    - groupVersionKind: { group: example.com, version: "*", kind: Widget }
      metrics:
        - name: w
          each: { type: Gauge, gauge: { path: [spec, size] } }
`);
    h.lw(CRDS).onList(() => page([crd('example.com', 'Widget', 'widgets', ['v1', 'v1beta1'])], '10'));
    h.lw('/apis/example.com/v1/widgets').onList(() => page([widget('a')], '20'));
    h.lw('/apis/example.com/v1beta1/widgets').onList(() => page([widget('a')], '20'));
    await h.source.start();
    assert.equal(h.store.size, 2, 'one object per served version');
    // The CRD watch loses its history (410): the relist no longer has the CRD.
    h.lw(CRDS).onList(() => page([], '30'));
    h.lw(CRDS).lastWatch.push('ERROR', { code: 410, message: 'too old', reason: 'Expired' });
    await settle();
    assert.equal(h.store.size, 0);
  });
});
