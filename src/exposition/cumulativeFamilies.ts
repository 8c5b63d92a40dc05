import type { ExpositionFormat } from './ExpositionFormat.ts';
import { escapeHelpOpenMetrics, escapeHelpText, escapeLabelValue } from './escape.ts';
import { formatSampleValue } from './sampleValue.ts';

type Labels = readonly (readonly [string, string])[];

/** One series of a cumulative family: its labels and when it started counting (epoch seconds). */
interface CumulativeSeries {
  readonly labels: Labels;
  readonly startSeconds: number;
}

export interface CounterSeries extends CumulativeSeries {
  readonly value: number;
}

export interface HistogramSeries extends CumulativeSeries {
  /** Observations per bucket (not cumulative): one per boundary, then the +Inf bucket. */
  readonly bucketCounts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * A counter family, newline-terminated: `name_total` samples under `# TYPE name_total counter` in
 * text 0.0.4; in OpenMetrics under `# TYPE name counter`, each series followed by its
 * `name_created`. Written here rather than by OpenTelemetry's PrometheusSerializer, which writes
 * neither OpenMetrics nor `_created`. Without series, only HELP and TYPE.
 */
export function counterFamily(
  name: string,
  help: string,
  series: Iterable<CounterSeries>,
  format: ExpositionFormat,
): string {
  const om = format === 'openmetrics';
  let out = header(om ? name : `${name}_total`, 'counter', help, format);
  for (const s of series) {
    const labels = labelText(s.labels);
    out += `${name}_total${braces(labels)} ${formatSampleValue(s.value)}\n`;
    if (om) out += `${name}_created${braces(labels)} ${formatSampleValue(s.startSeconds)}\n`;
  }
  return out;
}

/**
 * A histogram family with explicit buckets, newline-terminated, in either format: cumulative
 * `_bucket` samples ending with `le="+Inf"`, then `_sum` and `_count`, and in OpenMetrics
 * `_created`. Bucket bounds are written as Go's client writes them in OpenMetrics (`1.0`, the
 * canonical float), plain (`1`) in text 0.0.4.
 */
export function histogramFamily(
  name: string,
  help: string,
  boundaries: readonly number[],
  series: Iterable<HistogramSeries>,
  format: ExpositionFormat,
): string {
  const om = format === 'openmetrics';
  const bounds = [...boundaries.map((b) => (om ? canonicalFloat(b) : formatSampleValue(b))), '+Inf'];
  let out = header(name, 'histogram', help, format);
  for (const s of series) {
    const labels = labelText(s.labels);
    const prefix = labels === '' ? '' : `${labels},`;
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += s.bucketCounts[i] ?? 0;
      out += `${name}_bucket{${prefix}le="${bounds[i]}"} ${formatSampleValue(cumulative)}\n`;
    }
    out += `${name}_sum${braces(labels)} ${formatSampleValue(s.sum)}\n`;
    out += `${name}_count${braces(labels)} ${formatSampleValue(s.count)}\n`;
    if (om) out += `${name}_created${braces(labels)} ${formatSampleValue(s.startSeconds)}\n`;
  }
  return out;
}

function header(name: string, type: string, help: string, format: ExpositionFormat): string {
  const escaped = format === 'openmetrics' ? escapeHelpOpenMetrics(help) : escapeHelpText(help);
  return `# HELP ${name} ${escaped}\n# TYPE ${name} ${type}\n`;
}

function labelText(labels: Labels): string {
  return labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
}

function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/** `1` → `1.0`, `0.25` → `0.25`, `1e+21` as is: what OpenMetrics calls the canonical number. */
function canonicalFloat(v: number): string {
  const text = formatSampleValue(v);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}
