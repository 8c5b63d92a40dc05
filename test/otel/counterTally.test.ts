// CounterTally (src/otel/CounterTally.ts) collected through a real SDK MeterProvider: each pair of
// attribute values is its own cumulative, monotonic series, and counts only go up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { CounterTally } from '../../src/otel/CounterTally.ts';

class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function points(reader: CollectingReader): Promise<Map<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'events');
  assert.ok(metric, 'the counter is collected');
  assert.equal(metric.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  assert.equal((metric as { isMonotonic?: boolean }).isMonotonic, true);
  return new Map(
    metric.dataPoints.map((p) => [
      `${String(p.attributes.target)}/${String(p.attributes.type)}`,
      p.value as number,
    ]),
  );
}

describe('CounterTally', () => {
  it('counts each pair of values as its own series, cumulatively', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const tally = new CounterTally(provider.getMeter('test'), 'events', 'events seen', ['target', 'type']);
    for (let i = 0; i < 5; i++) tally.add('a', 'ADDED');
    tally.add('a', 'DELETED');
    tally.add('b', 'ADDED');
    // A value that would collide with another pair if the two were joined into one key naively.
    tally.add('a\u0000b', 'c');
    assert.deepEqual(
      await points(reader),
      new Map([
        ['a/ADDED', 5],
        ['a/DELETED', 1],
        ['b/ADDED', 1],
        ['a\u0000b/c', 1],
      ]),
    );
    tally.add('a', 'ADDED');
    assert.equal((await points(reader)).get('a/ADDED'), 6);
    await provider.shutdown();
  });
});
