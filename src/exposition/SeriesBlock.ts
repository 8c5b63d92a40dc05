import type { Attributes } from '@opentelemetry/api';
import { formatSampleValue } from '../engine/value/goFormat.ts';
import { escapeLabelValue } from './escape.ts';

/** One series of an object, kept for the OTLP side (attributes as OTel wants them). */
export interface SeriesPoint {
  readonly attributes: Attributes;
  readonly value: number;
}

/**
 * The series one object contributes to one family, rendered once when the object changes: scrapes
 * then only concatenate `text` (the same sample lines serve text 0.0.4 and OpenMetrics 1.0).
 */
export interface SeriesBlock {
  readonly text: string;
  readonly points: readonly SeriesPoint[];
}

export function renderBlock(name: string, series: readonly { labels: readonly (readonly [string, string])[]; value: number }[]): SeriesBlock {
  let text = '';
  const points: SeriesPoint[] = new Array<SeriesPoint>(series.length);
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    const attributes: Record<string, string> = {};
    text += name;
    if (s.labels.length > 0) {
      text += '{';
      for (let j = 0; j < s.labels.length; j++) {
        const [k, v] = s.labels[j]!;
        attributes[k] = v;
        text += (j === 0 ? '' : ',') + k + '="' + escapeLabelValue(v) + '"';
      }
      text += '}';
    }
    text += ' ' + formatSampleValue(s.value) + '\n';
    points[i] = { attributes, value: s.value };
  }
  return { text, points };
}
