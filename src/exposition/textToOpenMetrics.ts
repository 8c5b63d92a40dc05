import { OPENMETRICS_EOF } from './ExpositionFormat.ts';

/**
 * Turns a Prometheus text 0.0.4 exposition (as OpenTelemetry's PrometheusSerializer writes the
 * bridge's own metrics) into OpenMetrics 1.0: a counter family is named without `_total` in its
 * HELP/TYPE lines (its samples keep it), HELP escapes `"`, UNIT lines are dropped (OpenMetrics
 * wants the unit to be the name's suffix, and `s` on `…_seconds` is not), other comments are
 * dropped, and `# EOF` ends it. Sample lines are the same in both formats, except that a NaN
 * value is spelled `NaN` (text 0.0.4 parsers accept any case, and prom-client writes `Nan`;
 * OpenMetrics accepts only `NaN`).
 */
export function textToOpenMetrics(text: string): string {
  const counters = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+)_total counter$/gm)) counters.add(match[1]!);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('#')) {
      out.push(normalizeNaN(line));
      continue;
    }
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (!meta) continue;
    const [, keyword, name, rest = ''] = meta as unknown as [string, string, string, string | undefined];
    const family =
      name.endsWith('_total') && counters.has(name.slice(0, -'_total'.length)) ? name.slice(0, -6) : name;
    if (keyword === 'HELP') {
      // Text 0.0.4 already escaped `\` and line feeds; only `"` is left to escape.
      out.push(`# HELP ${family} ${rest.replace(/(?<!\\)((?:\\\\)*)"/g, '$1\\"')}`);
    } else out.push(`# TYPE ${family} ${rest}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n${OPENMETRICS_EOF}` : OPENMETRICS_EOF;
}

/** Spells a sample's NaN value as OpenMetrics wants it; the labels (before the last `}`) are left alone. */
function normalizeNaN(sample: string): string {
  const valueStart = sample.lastIndexOf('}') + 1 || sample.indexOf(' ');
  const tail = sample.slice(valueStart);
  const fixed = tail.replace(/^(\s+)nan(?=\s|$)/i, '$1NaN');
  return fixed === tail ? sample : sample.slice(0, valueStart) + fixed;
}
