import type { Attributes } from '@opentelemetry/api';
import type { SeriesBlock } from '../exposition/SeriesBlock.ts';
import type { MetricHeader, ScopeHeader } from './OtlpRequestEncoder.ts';
import type { Slicer } from '../runtime/Slicer.ts';

/** A series that was exported before and is gone now: sent once more with NoRecordedValue. */
export interface StaleMarker {
  readonly scope: ScopeHeader;
  readonly metric: MetricHeader;
  readonly attributes: Attributes;
}

interface FamilyState {
  scope: ScopeHeader;
  metric: MetricHeader;
  /** Every block exported, with the number of the last export that carried it. */
  readonly blocks: Map<SeriesBlock, number>;
  /** Blocks new in this export: new objects, and changed objects' replacement blocks. */
  added: SeriesBlock[];
  /** Number of the last export that had this family. */
  seenIn: number;
}

interface PointsState {
  readonly scope: ScopeHeader;
  readonly metric: MetricHeader;
  readonly points: Map<string, Attributes>;
}

/**
 * Remembers, for one OTLP reader, what its last export carried, and finds the series that are gone
 * since: objects deleted, changed so that a label set is no longer produced, filtered out, or a
 * family or resource dropped by a config reload (the cache is replaced; families are matched by
 * name).
 *
 * Memory and time: for the custom-resource families, one map entry per exported series block
 * (block → number of the last export that carried it; the blocks themselves live in the cache
 * anyway), updated in place, so nothing is reallocated per export; label sets are compared only
 * for blocks that vanished or appeared since the last export, so that part follows churn, not
 * size. The bridge's own metrics (low cardinality) are remembered point by point. Markers that
 * could not be delivered (export failed) are retried with the next export, up to
 * `maxPendingMarkers`; beyond that they are dropped (those series then end by the backend's own
 * lookback, as they would without markers).
 */
export class StaleSeriesTracker {
  private readonly _maxPending: number;
  private readonly _families = new Map<string, FamilyState>();
  private _export = 0;
  private _lastPoints = new Map<string, PointsState>();
  private _points = new Map<string, PointsState>();
  private _pending: StaleMarker[] = [];
  /** Markers dropped because too many were pending (for logs and tests). */
  droppedMarkers = 0;

  /** @param maxPendingMarkers Undelivered markers kept for the next export. @default 100000 */
  constructor(maxPendingMarkers = 100_000) {
    this._maxPending = maxPendingMarkers;
  }

  /** Starts recording one export. */
  begin(): void {
    this._export++;
    this._points = new Map();
  }

  /** Starts a custom-resource family; returns the function to call with each exported block. */
  family(scope: ScopeHeader, metric: MetricHeader): (block: SeriesBlock) => void {
    let state = this._families.get(metric.name);
    if (!state) {
      state = { scope, metric, blocks: new Map(), added: [], seenIn: 0 };
      this._families.set(metric.name, state);
    }
    state.scope = scope;
    state.metric = metric;
    state.seenIn = this._export;
    const added: SeriesBlock[] = (state.added = []);
    const blocks = state.blocks;
    const now = this._export;
    return (block) => {
      // One hash lookup per block: the map grows only for a block it did not have.
      const size = blocks.size;
      blocks.set(block, now);
      if (blocks.size !== size) added.push(block);
    };
  }

  /** Records one exported point of an SDK-produced metric (the bridge's own metrics). */
  sdkPoint(scope: ScopeHeader, metric: MetricHeader, attributes: Attributes): void {
    const key = `${scope.name}\u0000${metric.name}`;
    let state = this._points.get(key);
    if (!state) {
      state = { scope, metric, points: new Map() };
      this._points.set(key, state);
    }
    state.points.set(attributesKey(attributes), attributes);
  }

  /**
   * The series exported before (or pending from a failed export) and absent from this export,
   * which are then forgotten. Call after every family and point of the export was recorded.
   */
  async markers(slicer: Slicer): Promise<StaleMarker[]> {
    const now = this._export;
    const markers: StaleMarker[] = [];
    const present = new Map<string, Set<string>>();
    const presentIn = (family: string): Set<string> => {
      let keys = present.get(family);
      if (!keys) {
        keys = new Set();
        const state = this._families.get(family);
        if (state?.seenIn === now)
          for (const block of state.added)
            for (const p of block.points) keys.add(attributesKey(p.attributes));
        present.set(family, keys);
      }
      return keys;
    };
    for (const [name, state] of this._families) {
      const familyGone = state.seenIn !== now;
      for (const [block, exportedIn] of state.blocks) {
        if (slicer.due()) await slicer.pause();
        if (exportedIn === now) continue;
        state.blocks.delete(block);
        // Gone or replaced: a label set that a new or changed block still produces is not stale.
        for (const p of block.points) {
          if (familyGone || !presentIn(name).has(attributesKey(p.attributes)))
            markers.push({ scope: state.scope, metric: state.metric, attributes: p.attributes });
        }
      }
      state.added = [];
      if (familyGone) this._families.delete(name);
    }
    for (const [key, last] of this._lastPoints) {
      const current = this._points.get(key)?.points;
      for (const [k, attributes] of last.points) {
        if (!current?.has(k)) markers.push({ scope: last.scope, metric: last.metric, attributes });
      }
    }
    for (const m of this._pending) {
      // Back since the failed export? (A series can only come back in a block new since then.)
      const key = attributesKey(m.attributes);
      const back =
        presentIn(m.metric.name).has(key) ||
        this._points.get(`${m.scope.name}\u0000${m.metric.name}`)?.points.has(key);
      if (!back) markers.push(m);
    }
    this._lastPoints = this._points;
    return markers;
  }

  /** Ends the export. If it was not delivered, its markers are kept for the next export. */
  commit(markers: readonly StaleMarker[], delivered: boolean): void {
    if (delivered) {
      this._pending = [];
      return;
    }
    this._pending = markers.slice(0, this._maxPending);
    this.droppedMarkers += markers.length - this._pending.length;
  }

  /** Series blocks remembered from the last export (for tests and benchmarks). */
  get rememberedBlocks(): number {
    let n = 0;
    for (const f of this._families.values()) n += f.blocks.size;
    return n;
  }
}

/** A label set's identity, independent of attribute order. */
export function attributesKey(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let out = '';
  for (const k of keys) out += `${k}\u0000${String(attributes[k])}\u0001`;
  return out;
}
