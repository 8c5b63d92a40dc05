import { formatSampleValue } from './sampleValue.ts';
import { escapeLabelValue } from './escape.ts';

/** One series of an object, kept for the OTLP side (attributes as OTel wants them). */
export interface SeriesPoint {
  readonly attributes: Readonly<Record<string, string>>;
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
    if (last === labels) return;
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

/** Parts joined into one chunk of a block's text at a time (a few hundred series). */
const CHUNK_PARTS = 2048;

/**
 * Builds one SeriesBlock a series at a time, so a large block can be built across event-loop turns
 * (sliced ingestion) by the same code that builds a small one in one go.
 */
export class SeriesBlockWriter {
  private readonly _name: string;
  private readonly _interner: AttributeInterner;
  // Built as parts and joined: `+=` would leave a rope of small strings (tens of bytes per
  // piece) in the cache for every series, several times the size of the flat text.
  private _parts: string[] = [];
  /** Text of earlier series, joined a chunk at a time (see add). */
  private _chunks: string[] | undefined;
  private readonly _points: SeriesPoint[] = [];

  constructor(name: string, interner: AttributeInterner = new AttributeInterner()) {
    this._name = name;
    this._interner = interner;
  }

  get size(): number {
    return this._points.length;
  }

  add(labels: Labels, value: number): void {
    const parts = this._parts;
    parts.push(this._name, this._interner.labelText(labels), ' ', formatSampleValue(value), '\n');
    this._points.push({ attributes: this._interner.attributes(labels), value });
    // One join over tens of thousands of parts at the end would be one long step; joining every
    // CHUNK_PARTS parts spreads it over the adds, so a block built in slices never has one.
    // Small blocks never reach it.
    if (parts.length >= CHUNK_PARTS) {
      (this._chunks ??= []).push(parts.join(''));
      this._parts = [];
    }
  }

  finish(): SeriesBlock {
    const tail = this._parts.join('');
    if (this._chunks === undefined) return { text: tail, points: this._points };
    this._chunks.push(tail);
    return { text: this._chunks.join(''), points: this._points };
  }
}

/**
 * A whole block at once: the fast path every ordinary object takes (SeriesBlockWriter produces the
 * same text a series at a time, for objects generated in slices; this loop is kept apart because
 * its local arrays are measurably faster per object).
 */
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
