// Churn: 100k distinct objects created and deleted in generations of 5k through both readers of
// one MeterProvider; heap after GC at each generation shows whether anything accumulates.
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { CustomResourceMetricProducer } from '../src/otel/CustomResourceMetricProducer.ts';
import { PrometheusPullReader } from '../src/otel/PrometheusPullReader.ts';
import { backupObject, compileText, PATH_CONFIG } from './engineBench.ts';

/** The cache, both readers of one MeterProvider and an in-memory OTLP exporter (also used by the churn test). */
export function churnPipeline() {
  const config = compileText(PATH_CONFIG);
  const cache = new SeriesCache(config.families);
  const ingestor = new ObjectIngestor(config, cache, new ObjectErrors());
  const producer = new CustomResourceMetricProducer(() => cache);
  const pull = new PrometheusPullReader({ producers: [producer] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const push = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
    metricProducers: [producer],
  });
  const provider = new MeterProvider({ readers: [pull, push] });
  return { cache, ingestor, pull, push, exporter, provider };
}

export async function benchChurn(
  total = 100_000,
  live = 5_000,
): Promise<{ heapMB: number[]; rssMB: number }> {
  const { ingestor, pull, push, exporter, provider } = churnPipeline();
  const heapMB: number[] = [];
  for (let next = 0; next < total;) {
    const keys: string[] = [];
    for (let i = 0; i < live; i++, next++) {
      keys.push(`obj-${next}`);
      ingestor.upsertNow('bench', `obj-${next}`, backupObject(next));
    }
    for await (const chunk of await pull.scrapeCustomResources('text')) void chunk;
    await push.forceFlush();
    exporter.reset();
    for (const key of keys) ingestor.delete('bench', key);
    globalThis.gc?.();
    heapMB.push(process.memoryUsage().heapUsed / 2 ** 20);
  }
  await provider.shutdown();
  return { heapMB, rssMB: process.memoryUsage().rss / 2 ** 20 };
}
