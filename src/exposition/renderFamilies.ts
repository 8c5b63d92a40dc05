import type { FamilyMeta } from '../model/FamilyMeta.ts';
import { familyHeader, OPENMETRICS_EOF } from './ExpositionFormat.ts';
import type { ExpositionFormat } from './ExpositionFormat.ts';
import type { SeriesBlock } from './SeriesBlock.ts';
import type { EncodedChunk } from './BlockChunks.ts';

/**
 * The pieces of an exposition, in order: each family as one contiguous group under one HELP/TYPE,
 * whatever number of resources and objects feed it. Families without samples are left out.
 * `after`: complete families written elsewhere (the health counters), before OpenMetrics' EOF.
 */
export function familyPieces(
  families: readonly FamilyMeta[],
  blocksOf: (family: FamilyMeta) => Iterable<SeriesBlock>,
  format: ExpositionFormat,
  after: () => string = () => '',
): Generator<string> {
  return grouped(
    families,
    (family) => texts(blocksOf(family)),
    (text) => text === '',
    format,
    '',
    after,
  );
}

/**
 * The same pieces as familyPieces, with each family's samples as encoded chunks (what a scrape
 * writes). `before`: complete families written first (target info).
 */
export function familyChunkPieces(
  families: readonly FamilyMeta[],
  chunksOf: (family: FamilyMeta) => readonly EncodedChunk[],
  format: ExpositionFormat,
  before = '',
  after: () => string = () => '',
): Generator<string | EncodedChunk> {
  return grouped(families, chunksOf, (chunk) => chunk.isEmpty(), format, before, after);
}

function* texts(blocks: Iterable<SeriesBlock>): Generator<string> {
  for (const block of blocks) yield block.text;
}

/** Each family's header, then its non-empty samples; the header only when there is one. */
function* grouped<T>(
  families: readonly FamilyMeta[],
  samplesOf: (family: FamilyMeta) => Iterable<T>,
  isEmpty: (samples: T) => boolean,
  format: ExpositionFormat,
  before: string,
  after: () => string,
): Generator<string | T> {
  if (before !== '') yield before;
  for (const family of families) {
    let header: string | undefined = familyHeader(family, format);
    for (const samples of samplesOf(family)) {
      if (isEmpty(samples)) continue;
      if (header !== undefined) {
        yield header;
        header = undefined;
      }
      yield samples;
    }
  }
  const tail = after();
  if (tail !== '') yield tail;
  if (format === 'openmetrics') yield OPENMETRICS_EOF;
}

/** The whole exposition as one string (the `render` command). */
export function renderFamilies(
  families: readonly FamilyMeta[],
  blocksOf: (family: FamilyMeta) => Iterable<SeriesBlock>,
  format: ExpositionFormat,
  after?: () => string,
): string {
  return [...familyPieces(families, blocksOf, format, after)].join('');
}
