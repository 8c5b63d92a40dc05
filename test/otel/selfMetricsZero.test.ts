import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { CompiledConfig } from '../../src/engine/generate/CompiledConfig.ts';
import { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';
import { SELF_METRICS_SCOPE, SelfMetrics } from '../../src/otel/SelfMetrics.ts';

const FOO = 'a.io/v1/Foo';

function setUp() {
  const reader = new PrometheusPullReader({ producers: [], processMetrics: false });
  const provider = new MeterProvider({ readers: [reader] });
  const self = new SelfMetrics(provider.getMeter(SELF_METRICS_SCOPE), {
    version: '0.0.0',
    revision: 'test',
    otlpExports: () => ({ success: 0, failure: 0 }),
  });
  const config = {
    resources: [{ id: FOO, groupVersionKind: { group: 'a.io', version: 'v1', kind: 'Foo' } }],
  } as unknown as CompiledConfig;
  self.observe({ cache: () => undefined, config: () => config, sources: () => [] });
  const samples = async (family: string) =>
    (await reader.scrapeSelfMetrics('text'))
      .split('\n')
      .filter((l) => l.startsWith(`crd_metrics_bridge_${family}{`))
      .sort();
  return { self, provider, samples };
}

describe('self-metric counters exist at 0 before their first increment', () => {
  it('config loads by result, and object events of each configured resource by outcome', async () => {
    const { provider, samples } = setUp();
    assert.deepEqual(await samples('config_loads_total'), [
      'crd_metrics_bridge_config_loads_total{result="failure"} 0',
      'crd_metrics_bridge_config_loads_total{result="success"} 0',
    ]);
    assert.deepEqual(
      await samples('object_events_total'),
      ['deleted', 'failed', 'limited', 'superseded', 'unknown-delete', 'upserted'].map(
        (o) => `crd_metrics_bridge_object_events_total{outcome="${o}",resource="${FOO}"} 0`,
      ),
    );
    await provider.shutdown();
  });

  it('a resource added by a reload starts at 0 too, counting its first event', async () => {
    const { self, provider, samples } = setUp();
    self.objectEvent('upserted', 'a.io/v1/Bar');
    const bar = (await samples('object_events_total')).filter((l) => l.includes('Bar'));
    assert.equal(bar.length, 6);
    assert.ok(
      bar.includes('crd_metrics_bridge_object_events_total{outcome="upserted",resource="a.io/v1/Bar"} 1'),
    );
    assert.ok(
      bar.includes('crd_metrics_bridge_object_events_total{outcome="failed",resource="a.io/v1/Bar"} 0'),
    );
    await provider.shutdown();
  });

  it("a watch target's error results, event types and handler errors, from its first list on", async () => {
    const { self, provider, samples } = setUp();
    assert.deepEqual(await samples('list_total'), [], 'no target yet');
    self.sourceTelemetry.list('a.io/v1/foos', 'success', 3);
    assert.deepEqual(await samples('list_total'), [
      'crd_metrics_bridge_list_total{target="a.io/v1/foos",result="error"} 0',
      'crd_metrics_bridge_list_total{target="a.io/v1/foos",result="success"} 1',
    ]);
    assert.deepEqual(await samples('watch_total'), [
      'crd_metrics_bridge_watch_total{target="a.io/v1/foos",result="error"} 0',
      'crd_metrics_bridge_watch_total{target="a.io/v1/foos",result="success"} 0',
    ]);
    assert.equal((await samples('watch_events_total')).length, 5);
    assert.deepEqual(await samples('handler_errors_total'), [
      'crd_metrics_bridge_handler_errors_total{target="a.io/v1/foos"} 0',
    ]);
    // Open-ended label values stay absent until they happen.
    assert.deepEqual(await samples('reflector_restarts_total'), []);
    assert.deepEqual(await samples('object_errors_total'), []);
    await provider.shutdown();
  });
});
