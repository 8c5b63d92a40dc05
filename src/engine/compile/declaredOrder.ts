import type { LabelSources, ResourceConfig } from '../../config/types.ts';
import { sanitizeLabelName } from '../../exposition/labelNames.ts';
import { isStarKey } from '../generate/labels.ts';
import { iterationLevels } from './iterationLevels.ts';

/**
 * Label ranks for `labelOrder: declared`: the order labels are first written in the config,
 * resource level first. Labels whose names come from the data (star keys) sort after, by name.
 */
export function declaredOrder(resource: ResourceConfig): Map<string, number> {
  const rank = new Map<string, number>();
  const add = (name: string) => {
    if (isStarKey(name)) return;
    const key = sanitizeLabelName(name);
    if (!rank.has(key)) rank.set(key, rank.size);
  };
  if (resource.customResourceLabels)
    ['customresource_group', 'customresource_version', 'customresource_kind'].forEach(add);
  const addSources = (s: LabelSources) => {
    for (const name of s.nameLocations.keys()) add(name);
  };
  addSources(resource);
  for (const metric of resource.metrics) {
    addSources(metric);
    const each = metric.each;
    if (each.type === 'gauge' && each.gauge.labelFromKey) add(each.gauge.labelFromKey);
    else if (each.type === 'stateset') add(each.stateSet.labelName);
    else if (each.type === 'info' && each.info.labelFromKey) add(each.info.labelFromKey);
    // The each level, then each forEach level inside it.
    for (const level of iterationLevels(each)) for (const name of level.nameLocations.keys()) add(name);
  }
  return rank;
}
