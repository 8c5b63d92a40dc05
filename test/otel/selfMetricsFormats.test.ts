import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';
import { textToOpenMetrics } from '../../src/exposition/textToOpenMetrics.ts';

describe('self-metrics in both formats', () => {
  it('serves text 0.0.4 and OpenMetrics 1.0 from the same collection', async () => {
    const reader = new PrometheusPullReader({ producers: [], processMetrics: false });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('crd-metrics-bridge');
    meter.createCounter('crd_metrics_bridge_object_events', { description: 'Events "handled"' }).add(3, {
      outcome: 'upserted',
    });
    meter
      .createObservableGauge('crd_metrics_bridge_last_sync_timestamp_seconds', {
        description: 'When',
        unit: 's',
      })
      .addCallback((r) => r.observe(1700000000, { target: 'a/b' }));
    const text = await reader.scrapeSelfMetrics('text');
    assert.match(text, /^# TYPE crd_metrics_bridge_object_events_total counter$/m);
    const om = await reader.scrapeSelfMetrics('openmetrics');
    assert.equal(
      om,
      [
        '# HELP crd_metrics_bridge_object_events Events \\"handled\\"',
        '# TYPE crd_metrics_bridge_object_events counter',
        'crd_metrics_bridge_object_events_total{outcome="upserted"} 3',
        '# HELP crd_metrics_bridge_last_sync_timestamp_seconds When',
        '# TYPE crd_metrics_bridge_last_sync_timestamp_seconds gauge',
        'crd_metrics_bridge_last_sync_timestamp_seconds{target="a/b"} 1700000000',
        '# EOF',
        '',
      ].join('\n'),
    );
    await provider.shutdown();
  });

  it('keeps escaped quotes escaped once, drops other comments, and ends an empty exposition with # EOF', () => {
    assert.equal(
      textToOpenMetrics(
        '# HELP a_total x \\\\" y\n# TYPE a_total counter\na_total 1\n# no registered metrics\n',
      ),
      '# HELP a x \\\\\\" y\n# TYPE a counter\na_total 1\n# EOF\n',
    );
    assert.equal(textToOpenMetrics('# no registered metrics'), '# EOF\n');
    // A gauge that happens to end in _total keeps its name.
    assert.equal(
      textToOpenMetrics('# HELP g_total g\n# TYPE g_total gauge\ng_total 2\n'),
      '# HELP g_total g\n# TYPE g_total gauge\ng_total 2\n# EOF\n',
    );
  });

  it('spells NaN as OpenMetrics wants it, in the value only', () => {
    assert.equal(
      textToOpenMetrics('# TYPE m gauge\nm{l="a Nan"} Nan\nm Nan 1700000000\nn nan\n'),
      '# TYPE m gauge\nm{l="a Nan"} NaN\nm NaN 1700000000\nn NaN\n# EOF\n',
    );
  });

  it('appends the process and runtime metrics in both formats', async () => {
    const reader = new PrometheusPullReader({ producers: [] });
    const provider = new MeterProvider({ readers: [reader] });
    const text = await reader.scrapeSelfMetrics('text');
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    // promtool's lint and OpenMetrics keep `_total` for counters.
    assert.doesNotMatch(text, /^# TYPE \S+_total gauge$/m);
    const om = await reader.scrapeSelfMetrics('openmetrics');
    assert.match(om, /^# TYPE process_cpu_seconds counter$/m);
    assert.match(om, /^process_cpu_seconds_total [\d.e-]+$/m);
    assert.doesNotMatch(om, / Nan$/m);
    assert.match(om, /\n# EOF\n$/);
    await provider.shutdown();
  });
});
