import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { SelfMetrics } from '../../src/otel/SelfMetrics.ts';
import { Pipeline } from '../../src/app/Pipeline.ts';
import type { ReloadTrigger } from '../../src/app/Pipeline.ts';
import { readConfigFile } from '../../src/app/readConfigFile.ts';
import type { SourceFactory } from '../../src/app/createSources.ts';
import type { ObjectSink, Source, SourceTelemetry, TargetStatus } from '../../src/sources/Source.ts';

const config = (metric: string) =>
  `spec:\n  resources:\n    - groupVersionKind: { group: example.com, version: v1, kind: Widget }\n      labelsFromPath: { name: [metadata, name] }\n      metrics:\n        - name: ${metric}\n          help: h\n          each: { type: Gauge, gauge: { path: [spec, size] } }\n`;

const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } };

/** A source whose behaviour each test scripts: sync at once, fail its list, or hang. */
class ScriptedSource implements Source {
  readonly name = 'scripted';
  synced = false;
  stopped = false;
  private readonly _mode: 'sync' | 'forbidden' | 'hang';
  private readonly _sink: ObjectSink;
  private readonly _telemetry: SourceTelemetry;

  constructor(mode: 'sync' | 'forbidden' | 'hang', sink: ObjectSink, telemetry: SourceTelemetry) {
    this._mode = mode;
    this._sink = sink;
    this._telemetry = telemetry;
  }

  start(): Promise<void> {
    if (this._mode === 'sync') {
      this._sink.upsert('scripted', 'w1', widget);
      this.synced = true;
    } else if (this._mode === 'forbidden') this._telemetry.restart('example.com/v1/widgets', 'forbidden');
    return new Promise(() => undefined); // like KubeSource: resolves only on sync
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  *targets(): Iterable<TargetStatus> {
    yield {
      id: 'example.com/v1/widgets',
      synced: this.synced,
      state: this._mode === 'forbidden' ? 'forbidden' : 'listing',
      objects: 0,
      lastSyncAt: 0,
      lastActivityAt: 0,
    };
  }
}

describe('Pipeline reload', () => {
  let dir: string;
  let file: string;
  let provider: MeterProvider;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pipeline-'));
    file = path.join(dir, 'config.yaml');
    provider = new MeterProvider();
  });
  afterEach(async () => {
    await provider.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pipeline(modes: Array<'sync' | 'forbidden' | 'hang'>, settleMs = 60_000) {
    writeFileSync(file, config('size'));
    const made: ScriptedSource[] = [];
    let n = 0;
    const sources: SourceFactory = (_c, sink, telemetry) => {
      const s = new ScriptedSource(modes[Math.min(n++, modes.length - 1)]!, sink, telemetry);
      made.push(s);
      return [s];
    };
    const p = new Pipeline({
      initial: await readConfigFile(file),
      sources,
      selfMetrics: new SelfMetrics(provider.getMeter('test'), {
        version: 'test',
        revision: 'test',
        otlpExports: () => ({ success: 0, failure: 0 }),
      }),
      logger: pino({ level: 'silent' }),
      watchConfigFile: false,
      reloadSettleTimeoutMs: settleMs,
    });
    void p.start();
    return { p, made };
  }

  it('applies a config whose collection is forbidden at once, and says which and why', async () => {
    const { p, made } = await pipeline(['sync', 'forbidden']);
    assert.deepEqual(p.notSynced(), []);
    writeFileSync(file, config('size_bytes'));
    const outcome = await p.reload('signal');
    assert.deepEqual(outcome, { status: 'applied', notSynced: ['example.com/v1/widgets (forbidden)'] });
    assert.deepEqual(p.notSynced(), ['example.com/v1/widgets (forbidden)']);
    assert.deepEqual(
      p.config.families.map((f) => f.name),
      ['kube_customresource_size_bytes'],
    );
    assert.ok(made[0]!.stopped, 'the previous generation is stopped');
    await p.stop();
  });

  it('100 concurrent triggers cost two reloads: one running, one queued that covers the rest', async () => {
    const { p, made } = await pipeline(['sync']);
    writeFileSync(file, config('second'));
    const triggers: ReloadTrigger[] = ['http', 'signal', 'file', 'shards'];
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => p.reload(triggers[i % 4]!)));
    assert.equal(made.length, 3, 'the initial generation and two reloads, not one per trigger');
    assert.ok(
      outcomes.every((o) => o.status === 'applied'),
      JSON.stringify(outcomes.filter((o) => o.status !== 'applied')),
    );
    assert.ok(made[0]!.stopped && made[1]!.stopped && !made[2]!.stopped, 'only the newest generation runs');
    assert.deepEqual(
      p.config.families.map((f) => f.name),
      ['kube_customresource_second'],
    );
    await p.stop();
  });

  it('a trigger that arrives while a reload waits to swap gets the outcome of the next reload, which reads the file after it', async () => {
    const { p, made } = await pipeline(['sync', 'hang', 'sync'], 300);
    writeFileSync(file, config('second'));
    const first = p.reload('signal');
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(
      file,
      'spec: {resources: [{groupVersionKind: {group: x}, metrics: [{name: m, each: {type: Nope}}]}]}\n',
    );
    const second = p.reload('http');
    const third = p.reload('file');
    assert.deepEqual(await first, { status: 'applied', notSynced: ['example.com/v1/widgets (listing)'] });
    const failed = await second;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(await third, failed, 'both queued triggers share one reload');
    assert.equal(made.length, 2, 'the invalid config built no generation');
    assert.deepEqual(
      p.config.families.map((f) => f.name),
      ['kube_customresource_second'],
    );
    writeFileSync(file, config('third'));
    assert.deepEqual(await p.reload('http'), { status: 'applied', notSynced: [] });
    assert.ok(made[1]!.stopped, 'the replaced generation is stopped');
    await p.stop();
  });

  it('a file event queued with a request applies even when the bytes are unchanged', async () => {
    const { p, made } = await pipeline(['sync', 'hang', 'sync'], 200);
    writeFileSync(file, config('second'));
    const first = p.reload('file');
    const [fileOnly, fileAndHttp] = [p.reload('file'), p.reload('http')];
    assert.equal((await first).status, 'applied');
    assert.deepEqual(await fileOnly, { status: 'applied', notSynced: [] });
    assert.equal(await fileAndHttp, await fileOnly);
    assert.equal(made.length, 3);
    assert.deepEqual(await p.reload('file'), { status: 'unchanged' });
    await p.stop();
  });

  it('stop abandons the running and the queued reload; their callers hear so', async () => {
    const { p, made } = await pipeline(['sync', 'hang']);
    writeFileSync(file, config('second'));
    const first = p.reload('signal');
    await new Promise((r) => setTimeout(r, 50));
    const queued = p.reload('http');
    await p.stop();
    assert.deepEqual(await first, { status: 'superseded' });
    assert.deepEqual(await queued, { status: 'superseded' });
    assert.ok(made.every((s) => s.stopped));
    assert.deepEqual(await p.reload('http'), { status: 'superseded' });
  });

  it('swaps after the settle bound even when a collection neither syncs nor fails', async () => {
    const { p } = await pipeline(['sync', 'hang'], 200);
    writeFileSync(file, config('other'));
    const outcome = await p.reload('signal');
    assert.deepEqual(outcome, { status: 'applied', notSynced: ['example.com/v1/widgets (listing)'] });
    await p.stop();
  });

  it('file events with unchanged bytes do nothing; an invalid config keeps the running one', async () => {
    const { p } = await pipeline(['sync']);
    assert.deepEqual(await p.reload('file'), { status: 'unchanged' });
    writeFileSync(
      file,
      'spec: {resources: [{groupVersionKind: {group: x}, metrics: [{name: m, each: {type: Nope}}]}]}\n',
    );
    const failed = await p.reload('file');
    assert.equal(failed.status, 'failed');
    assert.deepEqual(await p.reload('file'), { status: 'unchanged' }, 'the same bad bytes are not retried');
    assert.deepEqual(
      p.config.families.map((f) => f.name),
      ['kube_customresource_size'],
    );
    await p.stop();
  });
});
