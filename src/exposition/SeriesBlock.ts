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

type Labels = readonly (readonly [string, string])[];

/**
 * Reuses one attributes object, and one rendered `{k="v",...}` text, for the series of an object
 * whose label sets are equal (the usual case: every family of an object has the same identifying
 * labels), which cuts the cache's memory and the rendering work per family.
 */
export class AttributeInterner {
  private _labels: Labels | undefined;
  private _attributes: Record<string, string> | undefined;
  private _text = '';

  attributes(labels: Labels): Record<string, string> {
    this._intern(labels);
    return this._attributes!;
  }

  /** `{k="v",...}` (escaped), or '' for no labels. */
  labelText(labels: Labels): string {
    this._intern(labels);
    return this._text;
  }

  private _intern(labels: Labels): void {
    const last = this._labels;
    if (last !== undefined && last.length === labels.length) {
      let same = true;
      for (let i = 0; i < labels.length && same; i++)
        same = last[i]![0] === labels[i]![0] && last[i]![1] === labels[i]![1];
      if (same) return;
    }
    const attributes: Record<string, string> = {};
    const parts: string[] = [];
    for (let j = 0; j < labels.length; j++) {
      const [k, v] = labels[j]!;
      attributes[k] = v;
      parts.push(j === 0 ? '{' : ',', k, '="', escapeLabelValue(v), '"');
    }
    if (parts.length > 0) parts.push('}');
    this._labels = labels;
    this._attributes = attributes;
    this._text = parts.join('');
  }
}

export function renderBlock(
  name: string,
  series: readonly { labels: Labels; value: number }[],
  interner: AttributeInterner = new AttributeInterner(),
): SeriesBlock {
  // Built as parts and joined: `+=` would leave a rope of small strings (tens of bytes per
  // piece) in the cache for every series, several times the size of the flat text.
  const parts: string[] = [];
  const points: SeriesPoint[] = new Array<SeriesPoint>(series.length);
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    parts.push(name, interner.labelText(s.labels), ' ', formatSampleValue(s.value), '\n');
    points[i] = { attributes: interner.attributes(s.labels), value: s.value };
  }
  return { text: parts.join(''), points };
}
