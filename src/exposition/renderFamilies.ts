import { Slicer } from '../runtime/Slicer.ts';
import type { FamilyMeta } from '../model/FamilyMeta.ts';
import { familyHeader, OPENMETRICS_EOF } from './ExpositionFormat.ts';
import type { ExpositionFormat } from './ExpositionFormat.ts';
import type { SeriesBlock } from './SeriesBlock.ts';

/**
 * The pieces of an exposition, in order: each family as one contiguous group under one HELP/TYPE,
 * whatever number of resources and objects feed it. Families without samples are left out.
 * `after`: complete families written elsewhere (the health counters), before OpenMetrics' EOF.
 */
export function* familyPieces(
  families: readonly FamilyMeta[],
  blocksOf: (family: FamilyMeta) => Iterable<SeriesBlock>,
  format: ExpositionFormat,
  after: () => string = () => '',
): Generator<string> {
  for (const family of families) {
    let header: string | undefined = familyHeader(family, format);
    for (const block of blocksOf(family)) {
      if (block.text === '') continue;
      if (header !== undefined) {
        yield header;
        header = undefined;
      }
      yield block.text;
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

export interface StreamOptions {
  /**
   * Size at which a chunk is handed to the socket. Kept under V8's large-object threshold
   * (128 KiB) so chunks live and die in the young generation: larger chunks go to large-object
   * space, freed only by full GCs, and concurrent scrapes then grew the RSS (docs/benchmarks.md,
   * "Figures behind the code"). @default 32768
   */
  readonly chunkChars?: number;
  /** Longest run of work before yielding to the event loop. @default 10 */
  readonly sliceMs?: number;
}

/**
 * Batches pieces into chunks for the socket and yields to the event loop every few milliseconds,
 * so a scrape of hundreds of thousands of series never blocks watch events or other requests.
 */
export async function* streamPieces(
  pieces: Iterable<string>,
  options: StreamOptions = {},
): AsyncGenerator<string> {
  const chunkChars = options.chunkChars ?? 32 * 1024;
  const slicer = new Slicer({ sliceMs: options.sliceMs, checkEvery: 128 });
  let buffer = '';
  for (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= chunkChars) {
      yield buffer;
      buffer = '';
    }
    const turn = slicer.turn();
    if (turn) await turn;
  }
  if (buffer !== '') yield buffer;
}
