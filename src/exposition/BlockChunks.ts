import { deflatePiece } from './gzipPieces.ts';
import type { DeflatedPiece } from './gzipPieces.ts';
import type { SeriesBlock, SeriesPoint } from './SeriesBlock.ts';

/**
 * A block as the cache keeps it: its text as a string only until the chunk holding it is encoded,
 * then as a range of that chunk's bytes (the string is dropped, so the text is not held twice).
 * Its content never changes: an object's new series come as a new StoredBlock.
 */
export class StoredBlock implements SeriesBlock {
  readonly points: readonly SeriesPoint[];
  private _text: string | undefined;
  private _bytes: Buffer | undefined;
  private _start = 0;
  private _end = 0;

  constructor(block: SeriesBlock) {
    this.points = block.points;
    this._text = block.text;
  }

  get text(): string {
    return this._text ?? this._bytes!.toString('utf8', this._start, this._end);
  }

  /** Approximate size in bytes (exact once encoded; the string's length before). */
  get size(): number {
    return this._text === undefined ? this._end - this._start : this._text.length;
  }

  /** Writes the text at `offset` of `into`; returns the end. */
  copyTo(into: Buffer, offset: number): number {
    if (this._text !== undefined) return offset + into.write(this._text, offset, 'utf8');
    return offset + this._bytes!.copy(into, offset, this._start, this._end);
  }

  /** Writes the text at `offset` of `into` and from then on reads it from there; returns the end. */
  moveTo(into: Buffer, offset: number): number {
    let end: number;
    if (this._text !== undefined) end = offset + into.write(this._text, offset, 'utf8');
    else end = offset + this._bytes!.copy(into, offset, this._start, this._end);
    this._bytes = into;
    this._start = offset;
    this._end = end;
    this._text = undefined;
    return end;
  }

  byteLength(): number {
    return this._text === undefined ? this._end - this._start : Buffer.byteLength(this._text, 'utf8');
  }
}

/**
 * The blocks of a run of consecutive objects of one family, as they were at one moment: encoded
 * to bytes once (on first use), compressed once (on first gzip use). Never changed afterwards,
 * so a scrape that holds it sees every object in it either all old or all new.
 */
export class EncodedChunk {
  readonly blocks: readonly SeriesBlock[];
  private _bytes: Buffer | undefined;
  private _deflated: Promise<DeflatedPiece> | undefined;
  private _piece: DeflatedPiece | undefined;
  private readonly _demand: GzipDemand | undefined;
  /** The cache's background pass that first saw this chunk (it waits one pass before working on it). */
  seenInPass: number | undefined;
  /** Changed since it was taken: its blocks now belong to a newer chunk, which holds their bytes. */
  private _superseded = false;

  constructor(blocks: readonly SeriesBlock[], demand?: GzipDemand) {
    this.blocks = blocks;
    this._demand = demand;
  }

  supersede(): void {
    this._superseded = true;
  }

  /** From text built at collection time (aggregates, health history): nothing cached beyond it. */
  static of(text: string, blocks: readonly SeriesBlock[] = []): EncodedChunk {
    const chunk = new EncodedChunk(blocks);
    chunk._bytes = Buffer.from(text, 'utf8');
    return chunk;
  }

  get encoded(): boolean {
    return this._bytes !== undefined;
  }

  /** Whether the compressed form is ready (without waiting). */
  get compressed(): DeflatedPiece | undefined {
    return this._piece;
  }

  /** The exposition text of the blocks, UTF-8. */
  bytes(): Buffer {
    if (this._bytes !== undefined) return this._bytes;
    let total = 0;
    for (const b of this.blocks) total += (b as StoredBlock).byteLength();
    // Its own allocation, not a slice of Node's shared pool: a small chunk would otherwise keep
    // an 8 KiB pool slab alive for as long as it lives.
    const out = Buffer.allocUnsafeSlow(total);
    let at = 0;
    // The current chunk becomes where its blocks keep their text; a superseded one only copies.
    for (const b of this.blocks)
      at = this._superseded ? (b as StoredBlock).copyTo(out, at) : (b as StoredBlock).moveTo(out, at);
    this._bytes = at === total ? out : out.subarray(0, at);
    return this._bytes;
  }

  /** The bytes compressed as a deflate piece (see gzipPieces), computed once, off the event loop. */
  deflated(): Promise<DeflatedPiece> {
    if (this._demand) this._demand.wanted = true;
    this._deflated ??= deflatePiece(this.bytes()).then(
      (piece) => (this._piece = piece),
      (err: unknown) => {
        this._deflated = undefined; // tried again by the next reader
        throw err;
      },
    );
    return this._deflated;
  }
}

/**
 * Text per chunk by default. Each chunk is compressed apart, so smaller chunks cost compression
 * ratio (the window restarts at each) and larger ones cost more work per change
 * (docs/benchmarks.md, "Scrapes from bytes kept ready").
 */
export const DEFAULT_CHUNK_BYTES = 128 * 1024;

/** Set once a compressed form was asked for: from then on chunks are compressed ahead of scrapes. */
export interface GzipDemand {
  wanted: boolean;
}

interface Chunk {
  readonly entries: Map<string, StoredBlock>;
  /** Sum of the entries' sizes (approximate before encoding). */
  size: number;
  /** The current content, undefined when it changed since. */
  current: EncodedChunk | undefined;
}

/**
 * One family's per-object blocks, in the order objects were first added (Map order, as the cache
 * always had it), grouped in chunks of consecutive objects of about `targetBytes` of text. A change
 * marks its chunk dirty; the chunk is encoded and compressed again only when read, so a burst of
 * changes to one chunk costs one encoding and one compression.
 */
export class BlockChunks {
  private readonly _targetBytes: number;
  private readonly _chunkOf = new Map<string, Chunk>();
  private _chunks: Chunk[] = [];
  private _dirty = 0;
  private _removed = false;

  private readonly _demand: GzipDemand | undefined;

  constructor(targetBytes: number, demand?: GzipDemand) {
    this._targetBytes = targetBytes;
    this._demand = demand;
  }

  get size(): number {
    return this._chunkOf.size;
  }

  /** Chunks changed since they were last read. */
  get dirtyCount(): number {
    return this._dirty;
  }

  get(key: string): SeriesBlock | undefined {
    return this._chunkOf.get(key)?.entries.get(key);
  }

  /** Adds an object's block at the end, or replaces it in place. */
  set(key: string, block: SeriesBlock): void {
    const stored = new StoredBlock(block);
    let chunk = this._chunkOf.get(key);
    if (chunk) {
      chunk.size -= chunk.entries.get(key)!.size;
    } else {
      chunk = this._chunks.at(-1);
      if (!chunk || chunk.size >= this._targetBytes) {
        chunk = { entries: new Map(), size: 0, current: undefined };
        this._chunks.push(chunk);
        this._dirty++;
      }
      this._chunkOf.set(key, chunk);
    }
    chunk.entries.set(key, stored);
    chunk.size += stored.size;
    this._touch(chunk);
  }

  delete(key: string): boolean {
    const chunk = this._chunkOf.get(key);
    if (!chunk) return false;
    chunk.size -= chunk.entries.get(key)!.size;
    chunk.entries.delete(key);
    this._chunkOf.delete(key);
    this._touch(chunk);
    if (chunk.entries.size === 0) this._removed = true;
    return true;
  }

  /** Every block, in order. Each object is visited at most once even if the family changes meanwhile. */
  *values(): Generator<SeriesBlock> {
    for (const chunk of [...this._chunks]) yield* chunk.entries.values();
  }

  /**
   * The family as it is now, as immutable chunks. Unchanged chunks are the ones the last call
   * returned (already encoded and maybe compressed); changed ones are new and encode on first use.
   * Cost: a reference per chunk, plus one per block of a changed chunk.
   */
  snapshot(): EncodedChunk[] {
    if (this._removed || this._dirty > 0) this._compact();
    const out = new Array<EncodedChunk>(this._chunks.length);
    for (let i = 0; i < this._chunks.length; i++) {
      const chunk = this._chunks[i]!;
      chunk.current ??= new EncodedChunk([...chunk.entries.values()], this._demand);
      out[i] = chunk.current;
    }
    this._dirty = 0;
    return out;
  }

  private _touch(chunk: Chunk): void {
    if (chunk.current === undefined) return;
    chunk.current.supersede();
    chunk.current = undefined;
    this._dirty++;
  }

  /**
   * Drops empty chunks and folds a small changed chunk into its changed predecessor when both fit
   * in one (deletions would otherwise leave many tiny chunks, each a separate compression).
   */
  private _compact(): void {
    const kept: Chunk[] = [];
    for (const chunk of this._chunks) {
      if (chunk.entries.size === 0) continue;
      const previous = kept.at(-1);
      if (
        previous !== undefined &&
        previous.current === undefined &&
        chunk.current === undefined &&
        previous.size + chunk.size <= this._targetBytes
      ) {
        for (const [key, block] of chunk.entries) {
          previous.entries.set(key, block);
          this._chunkOf.set(key, previous);
        }
        previous.size += chunk.size;
        chunk.entries.clear();
        continue;
      }
      kept.push(chunk);
    }
    this._chunks = kept;
    this._removed = false;
  }
}
