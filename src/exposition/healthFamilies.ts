import type { HealthHistorySpec } from '../model/FamilyMeta.ts';
import { counterFamily, histogramFamily } from './cumulativeFamilies.ts';
import type { CounterSeries, HistogramSeries } from './cumulativeFamilies.ts';
import type { ExpositionFormat } from './ExpositionFormat.ts';

export const TRANSITIONS_HELP =
  'Health transitions seen in watch events, by namespace and from/to state (a listing sets states without counting; docs/health.md).';
export const TIME_TO_HEALTHY_HELP =
  "Seconds from each object's creation to its first healthy state, observed when the transition is seen (objects first seen healthy are not; docs/health.md).";

/** What has been counted so far for one health spec's families. */
export interface HealthCounts {
  readonly transitions: readonly CounterSeries[];
  /** The histogram's bounds (those it was created with) and its series. */
  readonly timeToHealthy?: {
    readonly bounds: readonly number[];
    readonly series: readonly HistogramSeries[];
  };
}

/**
 * The transition counter and the time-to-healthy histogram of each health spec (once per name,
 * as resources sharing a prefix share them), in either format. Without counts (`render`, which
 * sees no watch), HELP and TYPE only.
 */
export function healthFamiliesText(
  specs: readonly HealthHistorySpec[],
  countsOf: (spec: HealthHistorySpec) => HealthCounts | undefined,
  format: ExpositionFormat,
): string {
  let out = '';
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.transitions)) continue;
    seen.add(spec.transitions);
    const counts = countsOf(spec);
    out += counterFamily(spec.transitions, TRANSITIONS_HELP, counts?.transitions ?? [], format);
    out += histogramFamily(
      spec.timeToHealthy,
      TIME_TO_HEALTHY_HELP,
      counts?.timeToHealthy?.bounds ?? spec.buckets,
      counts?.timeToHealthy?.series ?? [],
      format,
    );
  }
  return out;
}

/** The health specs of a config's families, in family order. */
export function healthSpecs(
  families: readonly { readonly health?: HealthHistorySpec }[],
): HealthHistorySpec[] {
  return families.flatMap((f) => (f.health ? [f.health] : []));
}
