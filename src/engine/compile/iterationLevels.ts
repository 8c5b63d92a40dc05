import type {
  EachConfig,
  GaugeConfig,
  InfoConfig,
  IterationLevel,
  StateSetConfig,
} from '../../config/types.ts';

/** The type block of `each` (gauge, stateSet or info). */
export function eachBlock(each: EachConfig): GaugeConfig | StateSetConfig | InfoConfig {
  return each.type === 'gauge' ? each.gauge : each.type === 'stateset' ? each.stateSet : each.info;
}

/** The levels `each` iterates: its own block, then every `forEach` inside it, outermost first. */
export function iterationLevels(each: EachConfig): IterationLevel[] {
  const block = eachBlock(each);
  const levels: IterationLevel[] = [block];
  for (let f = block.forEach; f; f = f.forEach) levels.push(f);
  return levels;
}
