import type { FamilyMeta } from '../engine/FamilyRegistry.ts';
import { escapeHelpOpenMetrics, escapeHelpText } from './escape.ts';

/** `text`: Prometheus text 0.0.4. `openmetrics`: OpenMetrics 1.0.0. */
export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * HELP and TYPE lines of a family. Text 0.0.4 has no info or stateset type, so those become
 * gauge there (as kube-state-metrics does); OpenMetrics keeps them.
 */
export function familyHeader(family: FamilyMeta, format: ExpositionFormat): string {
  if (format === 'text') {
    return `# HELP ${family.name} ${escapeHelpText(family.help)}\n# TYPE ${family.name} gauge\n`;
  }
  return `# HELP ${family.name} ${escapeHelpOpenMetrics(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
}

export const OPENMETRICS_EOF = '# EOF\n';
