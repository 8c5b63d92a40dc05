import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The process and Node.js runtime metrics every Prometheus exporter serves, from prom-client's
 * default collectors, under the names standard alerts and dashboards use: `process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
 * `process_max_fds`, `process_start_time_seconds`, `nodejs_eventloop_lag_seconds` (and its
 * percentiles), `nodejs_heap_size_used_bytes`, `nodejs_gc_duration_seconds`, ... (docs/serving.md).
 *
 * They are not fed through the OpenTelemetry MeterProvider: OpenTelemetry's runtime
 * instrumentation names them after its semantic conventions (`process.cpu.time` becomes
 * `process_cpu_time_seconds_total`), which no standard alert knows. So they appear on the
 * Prometheus telemetry endpoint, after the bridge's own metrics, and are not pushed as OTLP.
 */
const SUM_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export class ProcessMetrics {
  private readonly _registry = new Registry();

  /** Starts the collectors that sample continuously (event-loop delay histogram, GC observer). */
  constructor() {
    collectDefaultMetrics({ register: this._registry });
    // Gauges named `_total` break the naming convention (promtool's lint rejects them, and
    // OpenMetrics reserves the suffix for counters); each is only the sum of its per-type gauge
    // (`nodejs_active_handles{type}` ...), which stays.
    for (const name of SUM_GAUGES) this._registry.removeSingleMetric(name);
  }

  /** The families in Prometheus text format 0.0.4. */
  text(): Promise<string> {
    return this._registry.metrics();
  }
}
