import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import type { CompiledConfig } from '../../../src/engine/generate/CompiledConfig.ts';
import { budgetDefaults, HEAP_LIMIT_BYTES } from '../../../src/engine/limits.ts';
import type { SeriesLimits } from '../../../src/engine/limits.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import type { IngestOutcome } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { benignFoo, FOO_CONFIG, hostileFoo, writeHostileFixture } from '../../support/hostileFoo.ts';
import { runCli } from '../../support/runCli.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function setup(limits: Partial<SeriesLimits> = {}, configText = FOO_CONFIG) {
  const config: CompiledConfig = compileConfig(parseConfig(configText, 'foo.yaml'), { limits });
  const cache = new SeriesCache(config.families);
  const events: IngestOutcome[] = [];
  const errors = new ObjectErrors();
  const ingestor = new ObjectIngestor(config, cache, errors, { listener: (o) => void events.push(o) });
  const text = () => renderFamilies(config.families, (f) => cache.blocks(f), 'text');
  const kinds = () => Object.fromEntries(errors.summaries().map((s) => [s.kind, s.count]));
  return { config, cache, ingestor, errors, events, text, kinds };
}

describe('limits', () => {
  it('drops the hostile object whole, counts it, and keeps the rest (defaults, no config)', () => {
    const t = setup();
    assert.equal(t.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted');
    assert.equal(t.ingestor.upsertNow('test', 'h', hostileFoo()), 'limited');
    assert.equal(t.cache.objectCount, 1);
    assert.doesNotMatch(t.text(), /hostile/);
    assert.match(t.text(), /name="b"/);
    assert.deepEqual(t.kinds(), { 'limit-label-value-length': 1 });
    const s = t.errors.summaries()[0]!;
    assert.equal(s.metric, 'foo_item_value');
    assert.equal(s.exampleObject.name, 'hostile');
  });

  it('cuts each per-object limit at its threshold, exactly', () => {
    // 3 items + 3 phase states = 6 series.
    const ok = setup({ objectSeries: 6 });
    assert.equal(ok.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted');
    const over = setup({ objectSeries: 5 });
    assert.equal(over.ingestor.upsertNow('test', 'b', benignFoo('b')), 'limited');
    assert.deepEqual(over.kinds(), { 'limit-object-series': 1 });

    const value = setup({ labelValueLength: 12 });
    assert.equal(value.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted'); // note is 12 long
    const shortValue = setup({ labelValueLength: 11 });
    assert.equal(shortValue.ingestor.upsertNow('test', 'b', benignFoo('b')), 'limited');
    assert.deepEqual(shortValue.kinds(), { 'limit-label-value-length': 1 });

    // A 60 KB note passes the value limit, but 20,000 copies cross the byte budget early.
    const bytes = setup();
    assert.equal(bytes.ingestor.upsertNow('test', 'h', hostileFoo({ noteBytes: 60_000 })), 'limited');
    assert.deepEqual(bytes.kinds(), { 'limit-object-label-bytes': 1 });
    // And a small note with 20,000 elements crosses the series limit.
    const many = setup();
    assert.equal(many.ingestor.upsertNow('test', 'h', hostileFoo({ noteBytes: 10 })), 'limited');
    assert.deepEqual(many.kinds(), { 'limit-object-series': 1 });
  });

  it('removes the previous series of an object that grows over a limit, and takes it back when it shrinks', () => {
    const t = setup({ objectSeries: 100 });
    assert.equal(
      t.ingestor.upsertNow('test', 'x', hostileFoo({ noteBytes: 5, items: 10, name: 'x' })),
      'upserted',
    );
    assert.match(t.text(), /name="x"/);
    assert.equal(
      t.ingestor.upsertNow('test', 'x', hostileFoo({ noteBytes: 5, items: 500, name: 'x' })),
      'limited',
    );
    assert.doesNotMatch(t.text(), /name="x"/);
    assert.equal(t.cache.objectCount, 0);
    assert.equal(
      t.ingestor.upsertNow('test', 'x', hostileFoo({ noteBytes: 5, items: 10, name: 'x' })),
      'upserted',
    );
    assert.equal(t.cache.seriesCount(t.config.families[0]!), 10);
  });

  it('family cardinality: objects that would push a family over the limit are dropped; freed room is reusable', () => {
    const t = setup({ familySeries: 7 });
    assert.equal(t.ingestor.upsertNow('test', 'a', benignFoo('a')), 'upserted'); // 3 item series
    assert.equal(t.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted'); // 6
    assert.equal(t.ingestor.upsertNow('test', 'c', benignFoo('c')), 'limited'); // would be 9
    assert.deepEqual(t.kinds(), { 'limit-family-series': 1 });
    assert.equal(t.errors.summaries()[0]!.metric, 'foo_item_value');
    // Replacing an object's own series does not count them twice.
    assert.equal(t.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted');
    assert.equal(t.cache.seriesCount(t.config.families[0]!), 6);
    t.ingestor.delete('test', 'a');
    assert.equal(t.ingestor.upsertNow('test', 'c', benignFoo('c')), 'upserted');
    assert.equal(t.cache.seriesCount(t.config.families[0]!), 6);
  });

  it('objects per resource, as kube-state-metrics --object-limit: updates of kept objects still apply', () => {
    const t = setup({ resourceObjects: 2 });
    assert.equal(t.ingestor.upsertNow('test', 'a', benignFoo('a')), 'upserted');
    assert.equal(t.ingestor.upsertNow('test', 'b', benignFoo('b')), 'upserted');
    assert.equal(t.ingestor.upsertNow('test', 'c', benignFoo('c')), 'limited');
    assert.equal(t.ingestor.upsertNow('test', 'a', benignFoo('a')), 'upserted');
    assert.deepEqual(t.kinds(), { 'limit-resource-objects': 1 });
    assert.equal(t.errors.summaries()[0]!.metric, '*');
    assert.deepEqual(t.events, ['upserted', 'upserted', 'limited', 'upserted']);
  });

  it('per-object errors count against the series limit (a list of nulls cannot flood the error counter)', () => {
    const t = setup({ objectSeries: 50 });
    const foo = hostileFoo({ noteBytes: 1, items: 0 });
    (foo.spec as { items: unknown[] }).items = Array.from({ length: 100_000 }, () => null);
    assert.equal(t.ingestor.upsertNow('test', 'n', foo), 'limited');
    assert.equal(t.kinds()['limit-object-series'], 1);
    assert.ok((t.kinds()['nil-value'] ?? 0) <= 50);
  });

  it('a resource-level limit in the config wins over the flag value; 0 means unlimited', () => {
    const config = FOO_CONFIG.replace(
      '      metricNamePrefix: foo\n',
      '      metricNamePrefix: foo\n      limits: { objectSeries: 0, labelValueLength: 200000, objectLabelBytes: 0 }\n',
    );
    const t = setup({ objectSeries: 1, labelValueLength: 1 }, config);
    assert.deepEqual(t.config.resources[0]!.limits, {
      objectSeries: 0,
      objectLabelBytes: 0,
      labelValueLength: 200_000,
      familySeries: 1_000_000,
      resourceObjects: 500_000,
      aggregateGroups: 10_000,
      celCost: 100_000,
      ...budgetDefaults(HEAP_LIMIT_BYTES),
    });
    assert.equal(t.ingestor.upsertNow('test', 'h', hostileFoo({ items: 50 })), 'upserted');
    assert.equal(t.cache.seriesCount(t.config.families[0]!), 50);
  });
});

describe('render with the hostile object', () => {
  it('exits 0, prints everything else, names the object on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    writeHostileFixture(dir);
    const r = await runCli(['render', '--config', join(dir, 'config.yaml'), join(dir, 'objects')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /foo_item_value\{.*name="benign"/);
    assert.match(r.stdout, /foo_phase\{.*name="benign".*phase="Ready"\} 1/);
    assert.doesNotMatch(r.stdout, /hostile/);
    assert.match(
      r.stderr,
      /^dropped object tenant-a\/hostile \(.*hostile\.json#0\): label note is 102400 characters long/m,
    );
  });

  it('--limits.* flags apply to render', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    writeHostileFixture(dir, { noteBytes: 10, items: 20 });
    const config = join(dir, 'config.yaml');
    const objects = join(dir, 'objects');
    const tight = await runCli(['render', '--limits.object-series', '5', '--config', config, objects]);
    assert.equal(tight.code, 0);
    assert.doesNotMatch(tight.stdout, /name="hostile"/);
    assert.match(tight.stderr, /dropped object tenant-a\/hostile .*limits\.objectSeries/);
    const loose = await runCli(['render', '--limits.object-series=0', '--config', config, objects]);
    assert.match(loose.stdout, /name="hostile"/);
    assert.equal(loose.stderr, '');
  });
});

describe('limits: one resource defining a metric twice', () => {
  const config = [
    'kind: CustomResourceStateMetrics',
    'spec:',
    '  resources:',
    '    - groupVersionKind: {group: example.com, version: v1, kind: Foo}',
    '      metricNamePrefix: ""',
    '      customResourceLabels: false',
    '      labelsFromPath: {name: [metadata, name]}',
    '      metrics:',
    '        - {name: x, help: first, each: {type: Gauge, gauge: {path: [status, a]}}}',
    '        - {name: x, help: first, each: {type: Gauge, gauge: {path: [status, b]}}}',
    '',
  ].join('\n');
  const foo = (name: string) => ({
    apiVersion: 'example.com/v1',
    kind: 'Foo',
    metadata: { name, namespace: 'ns' },
    status: { a: 1, b: 2 },
  });

  it('serves the later definition, and the family count follows what is stored through churn', () => {
    const t = setup({ familySeries: 3 }, config);
    const family = t.config.families.find((f) => f.name === 'x')!;
    for (let i = 0; i < 10; i++) {
      assert.equal(t.ingestor.upsertNow('test', `k${i}`, foo(`o${i}`)), 'upserted', `object ${i}`);
      assert.equal(t.cache.seriesCount(family), 1);
      assert.match(t.text(), new RegExp(`^x\\{name="o${i}"\\} 2$`, 'm'));
      t.ingestor.delete('test', `k${i}`);
      assert.equal(t.cache.seriesCount(family), 0);
    }
  });
});
