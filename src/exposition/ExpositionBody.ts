import { Slicer } from '../runtime/Slicer.ts';
import { compressionGroups, EncodedChunk } from './BlockChunks.ts';
import { deflatePiece, GZIP_HEADER, GzipAssembler } from './gzipPieces.ts';
import type { DeflatedPiece } from './gzipPieces.ts';

/** A scrape's body as bytes and as gzip, written from pieces kept ready (see BlockChunks). */
export interface EncodedBody extends AsyncIterable<string> {
  /** The body's bytes, in order. */
  plain(): AsyncIterable<Buffer>;
  /**
   * The same body gzip-compressed: one gzip member (see gzipPieces). `requester`: who asked, the
   * same string at each scrape (to foresee the next one, see GzipLookahead).
   */
  gzip(requester?: string): AsyncIterable<Buffer>;
  /**
   * The same as gzip(), with the pieces ready at once in one array: a quiet cache's body is
   * hundreds of pieces of a few KiB, and a step of an async iteration costs more than writing one.
   */
  gzipBatches(requester?: string): AsyncIterable<readonly Buffer[]>;
}

/** The state a gzip scrape was answered with: current, or prepared ahead of it (GzipLookahead). */
export type GzipState = 'current' | 'prepared';

export interface ExpositionBodyOptions {
  /** Told of each gzip scrape, with who asked. @default none */
  readonly onGzip?: (requester: string) => void;
  /** Told of each gzip scrape, with the state it was answered with. @default none */
  readonly onGzipAnswered?: (state: GzipState) => void;
  /**
   * The pieces of a recent state whose chunks are all compressed (see GzipLookahead), for a gzip
   * scrape whose own chunks would need more than FRESH_DEFLATE_BYTES compressed; undefined when
   * there is none. @default none
   */
  readonly prepared?: () => Promise<Iterable<string | EncodedChunk> | undefined>;
}

export function isEncodedBody(body: unknown): body is EncodedBody {
  return body instanceof ExpositionBody;
}

/** Compressions in flight ahead of the piece being written (libuv's pool has four threads). */
const DEFLATE_AHEAD = 4;

/**
 * Text compressed on the event loop rather than the thread pool: family headers, a scrape's tail,
 * a short family. A trip through the pool costs a turn of the event loop, which under churn waits
 * behind the watch events; compressing this much costs less.
 */
const SYNC_DEFLATE_BYTES = 16 << 10;

/** Compressed bytes handed over in one batch, at most (give or take a piece). */
const BATCH_BYTES = 256 << 10;

/** Text compressed in one piece when consecutive chunks are not compressed yet. */
export const GROUP_BYTES = 1 << 20;

/** Text a gzip scrape compresses itself rather than answer with a prepared state. */
export const FRESH_DEFLATE_BYTES = 1 << 20;

/**
 * A body made of text built for this scrape (family headers, `# EOF`, families computed at
 * collection) and chunks encoded and compressed when their objects changed. A text scrape is a
 * sequence of buffer writes; a gzip scrape writes the chunks' compressed pieces, compressing only
 * the pieces that are not ready (small ones in place, the others on libuv's thread pool, a few at
 * a time, in order).
 */
export class ExpositionBody implements EncodedBody {
  private readonly _pieces: () => Iterable<string | EncodedChunk>;
  private readonly _options: ExpositionBodyOptions;

  /** `pieces`: read once per write, in order; empty strings and empty chunks are skipped. */
  constructor(pieces: () => Iterable<string | EncodedChunk>, options: ExpositionBodyOptions = {}) {
    this._pieces = pieces;
    this._options = options;
  }

  async *plain(): AsyncGenerator<Buffer> {
    const slicer = new Slicer({ checkEvery: 16 });
    for (const piece of this._pieces()) {
      if (typeof piece === 'string') {
        if (piece !== '') yield Buffer.from(piece, 'utf8');
      } else for (const bytes of piece.segments()) if (bytes.length > 0) yield bytes;
      const turn = slicer.turn();
      if (turn) await turn;
    }
  }

  async *gzip(requester = ''): AsyncGenerator<Buffer> {
    for await (const batch of this.gzipBatches(requester)) yield* batch;
  }

  async *gzipBatches(requester = ''): AsyncGenerator<Buffer[]> {
    this._options.onGzip?.(requester);
    let source: Iterable<string | EncodedChunk> = this._pieces();
    let state: GzipState = 'current';
    if (this._options.prepared !== undefined) {
      // Read once: the pieces include text built at each reading (the health families).
      const current = [...source];
      source = current;
      if (uncompressedBytes(current, FRESH_DEFLATE_BYTES) > FRESH_DEFLATE_BYTES) {
        const prepared = await this._options.prepared();
        if (prepared !== undefined) {
          source = prepared;
          state = 'prepared';
        }
      }
    }
    this._options.onGzipAnswered?.(state);
    const slicer = new Slicer({ checkEvery: 16 });
    const gzip = new GzipAssembler();
    let batch: Buffer[] = [GZIP_HEADER];
    let batchBytes = 0;
    const ahead: (DeflatedPiece | Promise<DeflatedPiece>)[] = [];
    const groups = compressionGroups(chunksOf(source), GROUP_BYTES);
    let done = false;
    const fill = () => {
      while (!done && ahead.length < DEFLATE_AHEAD) {
        const next = groups.next();
        if (next.done) {
          done = true;
          return;
        }
        const group = next.value;
        const first = group[0]!;
        if (group.length === 1 && first.compressed !== undefined) ahead.push(first.compressed);
        else if (group.length === 1 && first.size() <= SYNC_DEFLATE_BYTES) ahead.push(first.deflatedNow());
        else {
          let piece: Promise<DeflatedPiece>;
          if (group.length > 1) {
            for (const c of group) c.noteGzipDemand();
            piece = deflatePiece(group.flatMap((c) => c.segments()));
          } else piece = first.deflated();
          // Marked handled: a client gone mid-scrape leaves these unawaited; a failure still
          // rejects the await below.
          piece.catch(() => undefined);
          ahead.push(piece);
        }
      }
    };
    fill();
    while (ahead.length > 0) {
      const next = ahead.shift()!;
      let piece: DeflatedPiece;
      if (next instanceof Promise) {
        // What is ready goes out while this piece is compressed.
        if (batch.length > 0) yield batch;
        batch = [];
        batchBytes = 0;
        piece = await next;
      } else piece = next;
      fill();
      const data = gzip.add(piece);
      batch.push(data);
      batchBytes += data.length;
      const turn = slicer.turn();
      if (batchBytes >= BATCH_BYTES || turn) {
        yield batch;
        batch = [];
        batchBytes = 0;
      }
      if (turn) await turn;
    }
    batch.push(gzip.end());
    yield batch;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for await (const bytes of this.plain()) yield bytes.toString('utf8');
  }
}

/** The pieces as chunks: text built for the scrape (headers, `# EOF`) as chunks of its own. */
function* chunksOf(pieces: Iterable<string | EncodedChunk>): Generator<EncodedChunk> {
  for (const piece of pieces) yield typeof piece === 'string' ? EncodedChunk.of(piece) : piece;
}

/** Text of the chunks among `pieces` not compressed yet, counted up to just past `limit`. */
function uncompressedBytes(pieces: Iterable<string | EncodedChunk>, limit: number): number {
  let bytes = 0;
  for (const piece of pieces) {
    if (typeof piece === 'string' || piece.compressed !== undefined) continue;
    bytes += piece.size();
    if (bytes > limit) break;
  }
  return bytes;
}
