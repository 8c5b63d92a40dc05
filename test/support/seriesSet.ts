import type { VectorSample } from '../harness/prometheus.ts';

/**
 * A Prometheus query result as sorted `name{labels} value` lines without job/instance, so pushed
 * and scraped series compare as sets. `rename` maps each label name before the labels are sorted.
 */
export function seriesSet(result: VectorSample[], rename: (label: string) => string = (l) => l): string[] {
  return result
    .map((s) => {
      const labels = Object.entries(s.metric)
        .filter(([k]) => k !== '__name__' && k !== 'job' && k !== 'instance')
        .map(([k, v]) => `${rename(k)}=${JSON.stringify(v)}`)
        .sort()
        .join(',');
      return `${s.metric.__name__}{${labels}} ${s.value[1]}`;
    })
    .sort();
}
