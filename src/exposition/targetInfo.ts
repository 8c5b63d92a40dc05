import { labelNameFromData } from './labelNames.ts';
import type { ExpositionFormat } from './ExpositionFormat.ts';
import { escapeLabelValue } from './escape.ts';

/**
 * OpenTelemetry's `target_info` (the resource's attributes as labels) as a complete family,
 * newline-terminated, in either format: `# TYPE target_info gauge` in text 0.0.4 and the info
 * family `target` in OpenMetrics, one sample `target_info{...} 1` in both. Attribute keys are
 * sanitized into label names; keys that collide after that are merged as the OpenTelemetry
 * Prometheus compatibility spec says (values joined with `;`, in the order of the original keys).
 */
export function targetInfoFamily(
  attributes: Readonly<Record<string, unknown>>,
  format: ExpositionFormat,
): string {
  const labels = new Map<string, string>();
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const name = labelNameFromData(key);
    if (name === undefined) continue;
    const earlier = labels.get(name);
    labels.set(name, earlier === undefined ? text : `${earlier};${text}`);
  }
  const body = [...labels].map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
  const sample = `target_info${body === '' ? '' : `{${body}}`} 1\n`;
  return format === 'openmetrics'
    ? `# HELP target Target metadata\n# TYPE target info\n${sample}`
    : `# HELP target_info Target metadata\n# TYPE target_info gauge\n${sample}`;
}
