import type { FamilyMeta } from '../model/FamilyMeta.ts';
import { escapeHelpOpenMetrics, escapeHelpText } from './escape.ts';

/** `text`: Prometheus text 0.0.4. `openmetrics`: OpenMetrics 1.0.0. */
export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * HELP and TYPE lines of a family. Text 0.0.4 has no info or stateset type, so those become
 * gauge there (as kube-state-metrics does). OpenMetrics keeps a type only where the samples,
 * which are the same lines in both formats, satisfy it: an info family is named without its
 * `_info` suffix (`# TYPE x info` for samples `x_info`), and a state set needs its state label
 * to be named as the family. Otherwise the family is a gauge there too, which every OpenMetrics
 * parser accepts with the same series.
 */
export function familyHeader(family: FamilyMeta, format: ExpositionFormat): string {
  if (format === 'text') {
    return `# HELP ${family.name} ${escapeHelpText(family.help)}\n# TYPE ${family.name} gauge\n`;
  }
  let name = family.name;
  let type: string = family.type;
  if (type === 'info') {
    if (name.endsWith('_info') && name.length > '_info'.length) name = name.slice(0, -'_info'.length);
    else type = 'gauge';
  } else if (type === 'stateset' && family.stateLabel !== name) {
    type = 'gauge';
  }
  return `# HELP ${name} ${escapeHelpOpenMetrics(family.help)}\n# TYPE ${name} ${type}\n`;
}

export const OPENMETRICS_EOF = '# EOF\n';
