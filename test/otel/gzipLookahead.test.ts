import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ObjectErrors } from '../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../src/engine/store/SeriesCache.ts';
import type { GzipState } from '../../src/exposition/ExpositionBody.ts';
import { CustomResourceMetricProducer } from '../../src/otel/CustomResourceMetricProducer.ts';
import { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';
import { backupObject, compileText, PATH_CONFIG } from '../../bench/engineBench.ts';

const OBJECTS = 20_000;

describe('PrometheusPullReader with gzip scrapes foreseen', () => {
  it('a periodic gzip scraper under churn gets states compressed ahead of it, each whole', async () => {
    const config = compileText(PATH_CONFIG);
    const cache = new SeriesCache(config.families);
    const ingestor = new ObjectIngestor(config, cache, new ObjectErrors());
    for (let i = 0; i < OBJECTS; i++) ingestor.upsertNow('bench', `obj-${i}`, backupObject(i));
    const answered: GzipState[] = [];
    const pull = new PrometheusPullReader({
      producers: [new CustomResourceMetricProducer(() => cache)],
      familySnapshot: () => cache.snapshotFamilies(),
      onGzipAnswered: (state) => answered.push(state),
    });
    const provider = new MeterProvider({ readers: [pull] });
    // 2,000 updates a second spread over every object: no chunk is ever quiet, and each scrape
    // would otherwise compress more than a MiB of changed text itself.
    let version = 0;
    const churn = setInterval(() => {
      for (let n = 0; n < 40; n++) {
        const i = Math.floor(Math.random() * OBJECTS);
        const object = backupObject(i);
        (object.status as { sizeBytes: number }).sizeBytes = ++version;
        ingestor.upsertNow('bench', `obj-${i}`, object);
      }
    }, 20);
    try {
      for (let scrape = 0; scrape < 8; scrape++) {
        const start = performance.now();
        const body = await pull.scrapeCustomResources('text');
        const text = gunzipSync(await buffer(body.gzip('10.0.0.1 Prometheus/3'))).toString();
        // Whole: every object once in every family.
        const sizes = text.split('\n').filter((l) => l.startsWith('backup_size_bytes{'));
        assert.equal(sizes.length, OBJECTS, `scrape ${scrape}`);
        assert.equal(new Set(sizes.map((l) => /name="([^"]+)"/.exec(l)![1])).size, OBJECTS);
        await delay(Math.max(0, 500 - (performance.now() - start)));
      }
    } finally {
      clearInterval(churn);
      await provider.shutdown();
    }
    assert.equal(answered.length, 8);
    assert.equal(answered[0], 'current', 'no interval known at the first scrape');
    assert.ok(answered.filter((s) => s === 'prepared').length >= 3, `answered with: ${answered.join(', ')}`);
  });
});
