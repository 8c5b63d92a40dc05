import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';

/** name -> value of the unlabelled samples. */
function values(exposition: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('process and runtime metrics on the telemetry endpoint', () => {
  it('serves the Prometheus-conventional process_* and nodejs_* families with live values', async () => {
    const reader = new PrometheusPullReader({ producers: [] });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('crd-metrics-bridge').createCounter('crd_metrics_bridge_probe').add(1);
    const text = await reader.scrapeSelfMetrics();
    await provider.shutdown();

    // The bridge's own metrics come first, then the process metrics.
    assert.match(text, /^crd_metrics_bridge_probe_total(\{[^}]*\})? 1$/m);
    const v = values(text);
    const rss = process.memoryUsage().rss;
    const resident = v.get('process_resident_memory_bytes')!;
    assert.ok(resident > rss / 4 && resident < rss * 4, `resident ${resident} vs rss ${rss}`);
    assert.ok(v.get('process_virtual_memory_bytes')! >= resident);
    const started = Date.now() / 1000 - process.uptime();
    assert.ok(Math.abs(v.get('process_start_time_seconds')! - started) < 5, 'start time');
    assert.ok(v.get('process_cpu_seconds_total')! > 0);
    const fds = readdirSync('/proc/self/fd').length;
    assert.ok(
      Math.abs(v.get('process_open_fds')! - fds) < 10,
      `open fds ${v.get('process_open_fds')} vs ${fds}`,
    );
    assert.ok(v.get('process_max_fds')! >= v.get('process_open_fds')!);
    assert.ok(v.get('nodejs_eventloop_lag_seconds')! >= 0);
    assert.ok(v.get('nodejs_eventloop_lag_p99_seconds')! >= 0);
    assert.ok(v.get('nodejs_heap_size_used_bytes')! > 0);

    // One HELP/TYPE per family: the two sources never name the same family.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(types.map((l) => l.split(' ')[2])).size, types.length);
    for (const family of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds'])
      assert.ok(
        types.some((l) => l.startsWith(`# TYPE ${family} `)),
        family,
      );
  });

  it('can be turned off', async () => {
    const reader = new PrometheusPullReader({ producers: [], processMetrics: false });
    const provider = new MeterProvider({ readers: [reader] });
    const text = await reader.scrapeSelfMetrics();
    await provider.shutdown();
    assert.doesNotMatch(text, /process_/);
  });
});
