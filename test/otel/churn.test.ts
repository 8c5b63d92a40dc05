import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';
import { churnPipeline } from '../../bench/churnBench.ts';
import { backupObject } from '../../bench/engineBench.ts';

async function text(reader: PrometheusPullReader): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of await reader.scrapeCustomResources('text')) parts.push(chunk);
  return parts.join('');
}

describe('series lifecycle through the MeterProvider', () => {
  it('100k distinct objects churned through both readers: only live series, never an overflow series', async () => {
    const { cache, ingestor, pull, push, exporter, provider } = churnPipeline();
    const live = 5_000;
    let next = 0;
    try {
      for (let generation = 0; generation < 20; generation++) {
        const keys: string[] = [];
        for (let i = 0; i < live; i++, next++) {
          const key = `obj-${next}`;
          ingestor.upsertNow('test', key, backupObject(next));
          keys.push(key);
        }
        await push.forceFlush();
        const exported = exporter.getMetrics().at(-1)!;
        const points = exported.scopeMetrics
          .flatMap((s) => s.metrics)
          .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown> }[]);
        assert.equal(
          points.length,
          live * 3,
          `generation ${generation}: exactly the live objects' series are pushed`,
        );
        assert.ok(points.every((p) => !('otel.metric.overflow' in p.attributes)));
        const scrape = await text(pull);
        assert.equal(scrape.split('\n').filter((l) => l.startsWith('backup_')).length, live * 3);
        assert.ok(!scrape.includes('otel_metric_overflow'));
        assert.ok(
          scrape.includes(`name="backup-${next - 1}"`) &&
            !scrape.includes(`name="backup-${next - live - 1}"`),
        );
        exporter.reset();
        for (const key of keys) ingestor.delete('test', key);
      }
      assert.equal(next, 100_000);
      assert.equal(cache.objectCount, 0);
      await push.forceFlush();
      const points = exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((s) => s.metrics)
        .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown> }[]);
      assert.equal(points.length, 0, 'nothing of deleted objects is exported');
    } finally {
      await provider.shutdown();
    }
  });
});
