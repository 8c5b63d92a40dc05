import type { FamilyMeta } from '../engine/FamilyRegistry.ts';
import { familyHeader, OPENMETRICS_EOF } from './ExpositionFormat.ts';
import type { ExpositionFormat } from './ExpositionFormat.ts';
import type { SeriesBlock } from './SeriesBlock.ts';

/**
 * Writes families in order, each as one contiguous group under one HELP/TYPE, whatever number of
 * resources and objects feed it. Families without samples are left out.
 */
export function renderFamilies(
  families: readonly FamilyMeta[],
  blocksOf: (family: FamilyMeta) => Iterable<SeriesBlock>,
  format: ExpositionFormat,
): string {
  const parts: string[] = [];
  for (const family of families) {
    let header: string | undefined = familyHeader(family, format);
    for (const block of blocksOf(family)) {
      if (block.text === '') continue;
      if (header !== undefined) {
        parts.push(header);
        header = undefined;
      }
      parts.push(block.text);
    }
  }
  if (format === 'openmetrics') parts.push(OPENMETRICS_EOF);
  return parts.join('');
}
