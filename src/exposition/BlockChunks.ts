import { deflatePiece, deflatePieceSync } from './gzipPieces.ts';
import type { DeflatedPiece } from './gzipPieces.ts';
import type { SeriesBlock, SeriesPoint } from './SeriesBlock.ts';

/**
 * A block as the cache keeps it: its text as a string only until the chunk holding it is encoded,
 * then as a range of that chunk's bytes (the string is dropped, so the text is not held twice).
 * Its content never changes: an object's new series come as a new StoredBlock.
 */
export class StoredBlock implements SeriesBlock {
  readonly points: readonly SeriesPoint[];
  /** The chunk that holds it now (BlockChunks' bookkeeping), and where in its list. */
  chunk: Chunk | undefined;
  index = 0;
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

  /** Where the text is kept once encoded (undefined while it is a string). */
  get bytesRef(): Buffer | undefined {
    return this._text === undefined ? this._bytes : undefined;
  }

  get start(): number {
    return this._start;
  }

  get end(): number {
    return this._end;
  }

  /** Writes the text (a string) at `offset` of `into`; returns the end. */
  writeText(into: Buffer, offset: number): number {
    return offset + into.write(this._text!, offset, 'utf8');
  }

  /** From now on reads the text from `bytes[start, end)` and drops the string. */
  relocate(bytes: Buffer, start: number, end: number): void {
    this._bytes = bytes;
    this._start = start;
    this._end = end;
    this._text = undefined;
  }

  byteLength(): number {
    return this._text === undefined ? this._end - this._start : Buffer.byteLength(this._text, 'utf8');
  }

  /** Whether its text is `text` (read from the bytes once encoded). */
  hasText(text: string): boolean {
    if (this._text !== undefined) return this._text === text;
    const length = this._end - this._start;
    if (length !== text.length) {
      // Not ASCII, or not the same: compared as strings.
      return (
        length === Buffer.byteLength(text, 'utf8') &&
        this._bytes!.toString('utf8', this._start, this._end) === text
      );
    }
    // As many bytes as characters: equal only if every character is ASCII and matches its byte
    // (a character from 0x80 on is never taken for a byte of the UTF-8 kept). Compared in place:
    // decoding the kept bytes, or Buffer#compare with offsets, costs more than the loop.
    const bytes = this._bytes!;
    for (let i = 0, j = this._start; i < length; i++, j++) {
      const code = text.charCodeAt(i);
      if (code !== bytes[j] || code >= 0x80) return false;
    }
    return true;
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
  /** The first pass that saw the chunk changed and not encoded, carried over from the chunks it superseded. */
  dirtySincePass: number | undefined;
  /** Changed since it was taken: its blocks now belong to a newer chunk, which holds their bytes. */
  private _superseded = false;

  constructor(blocks: readonly SeriesBlock[], demand?: GzipDemand) {
    this.blocks = blocks;
    this._demand = demand;
  }

  supersede(): void {
    this._superseded = true;
  }

  /**
   * Consecutive chunks as one, to be compressed as one piece (one job on the thread pool instead of
   * one per chunk). Its blocks keep their text where it is.
   */
  static merged(chunks: readonly EncodedChunk[]): EncodedChunk {
    const merged = new EncodedChunk(chunks.flatMap((c) => c.blocks));
    merged._superseded = true;
    for (const chunk of chunks) chunk.noteGzipDemand();
    return merged;
  }

  /**
   * A compressed piece without its text: what a prepared state keeps (see GzipLookahead), so that
   * the text its objects had then is freed as the cache moves on. Only its compressed form is
   * read.
   */
  static compressedOnly(piece: DeflatedPiece): EncodedChunk {
    const chunk = new EncodedChunk([]);
    chunk._piece = piece;
    chunk._superseded = true;
    return chunk;
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

  /** Bytes of text (approximate until encoded), without encoding anything. */
  size(): number {
    if (this._bytes !== undefined) return this._bytes.length;
    if (this._piece !== undefined) return this._piece.length;
    let n = 0;
    for (const b of this.blocks) n += b instanceof StoredBlock ? b.size : b.text.length;
    return n;
  }

  /** Tells the cache a client reads gzip (compressed with others, not by deflated()). */
  noteGzipDemand(): void {
    if (this._demand) this._demand.wanted = true;
  }

  /** No text at all (blocks without series), without encoding anything. */
  isEmpty(): boolean {
    if (this._bytes !== undefined) return this._bytes.length === 0;
    if (this._piece !== undefined) return this._piece.length === 0;
    return this.blocks.every((b) => (b instanceof StoredBlock ? b.size === 0 : b.text === ''));
  }

  /** The exposition text of the blocks, UTF-8. */
  bytes(): Buffer {
    if (this._bytes !== undefined) return this._bytes;
    const blocks = this.blocks as readonly StoredBlock[];
    let total = 0;
    for (const b of blocks) total += b.byteLength();
    // Its own allocation, not a slice of Node's shared pool: a small chunk would otherwise keep
    // an 8 KiB pool slab alive for as long as it lives.
    const out = Buffer.allocUnsafeSlow(total);
    // Blocks already encoded next to each other (most of a chunk that changed in a few objects)
    // are copied as one run: a copy per block costs more than the bytes it moves.
    const starts = new Array<number>(blocks.length);
    let at = 0;
    let run: Buffer | undefined;
    let runStart = 0;
    let runEnd = 0;
    const flush = () => {
      if (run !== undefined) at += run.copy(out, at, runStart, runEnd);
      run = undefined;
    };
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const source = b.bytesRef;
      if (source !== undefined && source === run && b.start === runEnd) {
        starts[i] = at + (runEnd - runStart);
        runEnd = b.end;
        continue;
      }
      flush();
      if (source === undefined) {
        starts[i] = at;
        at = b.writeText(out, at);
      } else {
        starts[i] = at;
        run = source;
        runStart = b.start;
        runEnd = b.end;
      }
    }
    flush();
    const bytes = at === total ? out : out.subarray(0, at);
    // The current chunk becomes where its blocks keep their text; a superseded one only copies.
    if (!this._superseded)
      for (let i = 0; i < blocks.length; i++)
        blocks[i]!.relocate(bytes, starts[i]!, i + 1 < blocks.length ? starts[i + 1]! : at);
    this._bytes = bytes;
    return bytes;
  }

  /**
   * The text as buffers without building the chunk's own Buffer when it has none yet: runs of
   * blocks already encoded next to each other as views of their bytes, the other blocks encoded
   * apart. A text scrape writes these, so a chunk that keeps changing is not copied whole (and
   * a 128 KiB allocation made, which V8 counts towards its next full collection) at every scrape.
   */
  segments(): Buffer[] {
    if (this._bytes !== undefined) return [this._bytes];
    // Nothing encoded yet (new objects, the first scrapes after a sync): encoded once here, as
    // the background pass would, rather than into buffers thrown away after this scrape.
    if (!this._superseded && !this.blocks.some((b) => (b as StoredBlock).bytesRef !== undefined))
      return [this.bytes()];
    const out: Buffer[] = [];
    let run: Buffer | undefined;
    let runStart = 0;
    let runEnd = 0;
    let strings: string[] = [];
    const flush = () => {
      if (run !== undefined) out.push(run.subarray(runStart, runEnd));
      run = undefined;
      if (strings.length > 0) out.push(Buffer.from(strings.join(''), 'utf8'));
      strings = [];
    };
    for (const b of this.blocks as readonly StoredBlock[]) {
      const source = b.bytesRef;
      if (source === undefined) {
        if (run !== undefined) flush();
        strings.push(b.text);
      } else if (source === run && b.start === runEnd) {
        runEnd = b.end;
      } else {
        flush();
        run = source;
        runStart = b.start;
        runEnd = b.end;
      }
    }
    flush();
    return out;
  }

  /**
   * The same piece compressed now, on the calling thread: for text too small to be worth a trip
   * through the thread pool, whose result waits for a turn of the event loop (under churn, behind
   * the watch events).
   */
  deflatedNow(): DeflatedPiece {
    if (this._demand) this._demand.wanted = true;
    if (this._piece !== undefined) return this._piece;
    const segments = this.segments();
    this._piece = deflatePieceSync(segments.length === 1 ? segments[0]! : Buffer.concat(segments));
    return this._piece;
  }

  /** The bytes compressed as a deflate piece (see gzipPieces), computed once, off the event loop. */
  deflated(): Promise<DeflatedPiece> {
    if (this._demand) this._demand.wanted = true;
    // Compressed already (deflatedNow, or a compressed-only chunk, which has no text to compress).
    if (this._piece !== undefined) return (this._deflated ??= Promise.resolve(this._piece));
    this._deflated ??= deflatePiece(this.segments()).then(
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
 * The pieces a gzip body is compressed in, in order: a chunk compressed or encoded already (quiet
 * since the cache's last background pass) alone, so that later scrapes find it compressed; runs of
 * chunks changed since they were encoded together, up to `groupBytes` of text a run (one job on
 * the thread pool instead of one per chunk: under churn they will have changed again by the next
 * scrape). Empty chunks are left out.
 */
export function* compressionGroups(
  chunks: Iterable<EncodedChunk>,
  groupBytes: number,
): Generator<readonly EncodedChunk[]> {
  let group: EncodedChunk[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    if (chunk.isEmpty()) continue;
    if (chunk.compressed !== undefined || chunk.encoded) {
      if (group.length > 0) yield group;
      group = [];
      bytes = 0;
      yield [chunk];
      continue;
    }
    group.push(chunk);
    bytes += chunk.size();
    if (bytes >= groupBytes) {
      yield group;
      group = [];
      bytes = 0;
    }
  }
  if (group.length > 0) yield group;
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
  /** The blocks in order; undefined where an object was deleted (dropped at the next snapshot). */
  blocks: (StoredBlock | undefined)[];
  /** Blocks that are not undefined. */
  live: number;
  /** Sum of the blocks' sizes (approximate before encoding). */
  size: number;
  /** The current content, undefined when it changed since. */
  current: EncodedChunk | undefined;
  /** `blocks` is also the current content's list: copied before the next change. */
  shared: boolean;
  /** dirtySincePass of the superseded content that was never encoded. */
  carriedPass: number | undefined;
}

/**
 * One family's per-object blocks, in the order objects were first added (as a Map keeps them),
 * grouped in chunks of consecutive objects of about `targetBytes` of text. A change marks its
 * chunk dirty; the chunk is encoded and compressed again only when read, so a burst of changes to
 * one chunk costs one encoding and one compression. A chunk's list of blocks is handed to its
 * snapshot as it is and copied only when the chunk next changes, so an object costs one map entry
 * and one list slot.
 */
export class BlockChunks {
  private readonly _targetBytes: number;
  private readonly _blockOf = new Map<string, StoredBlock>();
  private _chunks: Chunk[] = [];
  private _dirty = 0;
  private _removed = false;

  private readonly _demand: GzipDemand | undefined;

  constructor(targetBytes: number, demand?: GzipDemand) {
    this._targetBytes = targetBytes;
    this._demand = demand;
  }

  get size(): number {
    return this._blockOf.size;
  }

  /** Chunks changed since they were last read. */
  get dirtyCount(): number {
    return this._dirty;
  }

  get(key: string): SeriesBlock | undefined {
    return this._blockOf.get(key);
  }

  /**
   * Adds an object's block at the end, or replaces it in place. Returns the block as kept: hold
   * that one, not `block`, whose text string would stay alive beside the encoded bytes.
   */
  set(key: string, block: SeriesBlock): SeriesBlock {
    const existing = this._blockOf.get(key);
    // The same text is the same series (labels and values are written unambiguously): the chunk
    // stays as it is, encoded and compressed. Most updates change a few fields, so most families
    // of an updated object keep their text.
    if (existing !== undefined && existing.hasText(block.text)) return existing;
    const stored = new StoredBlock(block);
    let chunk: Chunk;
    if (existing !== undefined) {
      chunk = existing.chunk!;
      this._writable(chunk);
      chunk.size -= existing.size;
      stored.chunk = chunk;
      stored.index = existing.index;
      chunk.blocks[existing.index] = stored;
    } else {
      let last = this._chunks.at(-1);
      if (!last || last.size >= this._targetBytes) {
        last = { blocks: [], live: 0, size: 0, current: undefined, shared: false, carriedPass: undefined };
        this._chunks.push(last);
        this._dirty++;
      }
      chunk = last;
      this._writable(chunk);
      stored.chunk = chunk;
      stored.index = chunk.blocks.length;
      chunk.blocks.push(stored);
      chunk.live++;
    }
    this._blockOf.set(key, stored);
    chunk.size += stored.size;
    this._touch(chunk);
    return stored;
  }

  delete(key: string): boolean {
    const existing = this._blockOf.get(key);
    if (!existing) return false;
    const chunk = existing.chunk!;
    this._writable(chunk);
    chunk.size -= existing.size;
    chunk.blocks[existing.index] = undefined;
    chunk.live--;
    existing.chunk = undefined;
    this._blockOf.delete(key);
    this._touch(chunk);
    if (chunk.live === 0) this._removed = true;
    return true;
  }

  /** Every block, in order. Each object is visited at most once even if the family changes meanwhile. */
  *values(): Generator<SeriesBlock> {
    for (const chunk of [...this._chunks]) for (const block of chunk.blocks) if (block) yield block;
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
      if (chunk.current === undefined) {
        if (chunk.live < chunk.blocks.length) this._dropHoles(chunk);
        chunk.current = new EncodedChunk(chunk.blocks as StoredBlock[], this._demand);
        chunk.current.dirtySincePass = chunk.carriedPass;
        chunk.shared = true;
      }
      out[i] = chunk.current;
    }
    this._dirty = 0;
    return out;
  }

  private _writable(chunk: Chunk): void {
    if (!chunk.shared) return;
    chunk.blocks = chunk.blocks.slice();
    chunk.shared = false;
  }

  private _dropHoles(chunk: Chunk): void {
    const kept: StoredBlock[] = [];
    for (const block of chunk.blocks) {
      if (block === undefined) continue;
      block.index = kept.length;
      kept.push(block);
    }
    chunk.blocks = kept;
    chunk.shared = false;
  }

  private _touch(chunk: Chunk): void {
    if (chunk.current === undefined) return;
    chunk.carriedPass = chunk.current.encoded ? undefined : chunk.current.dirtySincePass;
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
      if (chunk.live === 0) continue;
      const previous = kept.at(-1);
      if (
        previous !== undefined &&
        previous.current === undefined &&
        chunk.current === undefined &&
        previous.size + chunk.size <= this._targetBytes
      ) {
        this._writable(previous);
        for (const block of chunk.blocks) {
          if (block === undefined) continue;
          block.chunk = previous;
          block.index = previous.blocks.length;
          previous.blocks.push(block);
          previous.live++;
        }
        previous.size += chunk.size;
        chunk.blocks = [];
        chunk.live = 0;
        chunk.shared = false;
        continue;
      }
      kept.push(chunk);
    }
    this._chunks = kept;
    this._removed = false;
  }
}
