import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import type { DeflateRaw, ZlibOptions } from 'node:zlib';

/**
 * Raw deflate of one piece of a body, ended by a sync flush: complete, byte-aligned, non-final
 * deflate blocks that never refer to data outside the piece. Pieces compressed apart can therefore
 * be concatenated into one deflate stream (as pigz does), closed by FINAL_BLOCK, and wrapped in
 * one gzip header and trailer whose CRC-32 is combined from the pieces' CRCs. The result is a
 * single ordinary gzip member: unlike a multi-member body (RFC 1952 §2.2), every client reads it
 * whole (curl's `--compressed` stops after the first member).
 */
export interface DeflatedPiece {
  readonly data: Buffer;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc: number;
  /** Length of the uncompressed bytes. */
  readonly length: number;
  /**
   * x^(8·length) modulo the CRC polynomial: what combining its CRC after another's needs, computed
   * once with the piece rather than at every scrape that writes it (see crc32Combine).
   */
  readonly shift: number;
}

const PIECE_OPTIONS: ZlibOptions = { finishFlush: constants.Z_SYNC_FLUSH };

/** Output in 64 KiB buffers: a piece of a few MiB compresses to one or two of them. */
const STREAM_OPTIONS: ZlibOptions = { chunkSize: 64 * 1024 };

/**
 * A few deflate streams kept for all pieces, each reset between pieces: zlib's state (a few
 * hundred KiB a stream) is allocated once, not per piece, where V8 would count every allocation
 * towards its next full collection.
 */
class DeflatePool {
  private readonly _idle: DeflateRaw[] = [];
  private readonly _waiting: ((stream: DeflateRaw) => void)[] = [];
  private _created = 0;
  private readonly _max: number;
  private readonly _scratch = new WeakMap<DeflateRaw, Buffer>();

  constructor(max: number) {
    this._max = max;
  }

  async deflate(parts: readonly Buffer[]): Promise<Buffer> {
    const stream = await this._acquire();
    let healthy = false;
    try {
      // One write: zlib runs each written buffer as its own job on the thread pool, and each
      // job's completion waits for the event loop, which under churn is busy with watch events.
      const input = parts.length === 1 ? parts[0]! : this._gather(stream, parts);
      const data = await new Promise<Buffer>((resolve, reject) => {
        const out: Buffer[] = [];
        const onData = (chunk: Buffer) => out.push(chunk);
        const onError = (err: unknown) => {
          stream.off('data', onData);
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        stream.on('data', onData);
        stream.once('error', onError);
        stream.write(input);
        stream.flush(constants.Z_SYNC_FLUSH, () => {
          stream.off('data', onData);
          stream.off('error', onError);
          resolve(ownCopy(out));
        });
      });
      healthy = true;
      return data;
    } finally {
      this._release(stream, healthy);
    }
  }

  /** The parts copied into the stream's own buffer, reused from piece to piece. */
  private _gather(stream: DeflateRaw, parts: readonly Buffer[]): Buffer {
    let length = 0;
    for (const part of parts) length += part.length;
    let scratch = this._scratch.get(stream);
    if (scratch === undefined || scratch.length < length) {
      scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * (scratch?.length ?? 0), 1 << 20));
      this._scratch.set(stream, scratch);
    }
    let at = 0;
    for (const part of parts) at += part.copy(scratch, at);
    return scratch.subarray(0, length);
  }

  private _acquire(): Promise<DeflateRaw> {
    const idle = this._idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this._created < this._max) {
      this._created++;
      return Promise.resolve(createDeflateRaw(STREAM_OPTIONS));
    }
    return new Promise((resolve) => this._waiting.push(resolve));
  }

  private _release(stream: DeflateRaw, healthy: boolean): void {
    let next = stream;
    if (healthy) stream.reset();
    else {
      stream.destroy();
      next = createDeflateRaw(STREAM_OPTIONS);
    }
    const waiter = this._waiting.shift();
    if (waiter) waiter(next);
    else this._idle.push(next);
  }
}

/**
 * The output as one buffer of its own. Buffer.concat takes a piece under 4 KiB from Node's shared
 * 8 KiB pool, and a piece kept for minutes would keep its whole slab, and the scrape garbage
 * sharing it, alive.
 */
function ownCopy(parts: readonly Buffer[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const part of parts) at += part.copy(out, at);
  return out;
}

/** Two streams: the machine's cores, and libuv's other threads stay free for everything else. */
const pool = new DeflatePool(2);

/**
 * Compresses a piece, given as consecutive parts, on libuv's thread pool (the event loop only
 * pays for the CRC).
 */
export async function deflatePiece(parts: Buffer | readonly Buffer[]): Promise<DeflatedPiece> {
  const list = Buffer.isBuffer(parts) ? [parts] : parts;
  const data = await pool.deflate(list);
  let crc = 0;
  let length = 0;
  for (const part of list) {
    crc = crc32(part, crc);
    length += part.length;
  }
  return { data, crc, length, shift: shiftFor(length) };
}

/** The same on the calling thread, for small pieces (family headers, a scrape's tail). */
export function deflatePieceSync(bytes: Buffer): DeflatedPiece {
  return {
    data: deflateRawSync(bytes, PIECE_OPTIONS),
    crc: crc32(bytes),
    length: bytes.length,
    shift: shiftFor(bytes.length),
  };
}

/** gzip header: deflate, no name or comment, no mtime, OS unknown (RFC 1952 §2.3). */
export const GZIP_HEADER: Buffer = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** An empty final block with fixed codes (what zlib writes for Z_FINISH after a sync flush). */
export const FINAL_BLOCK: Buffer = Buffer.from([0x03, 0x00]);

/** CRC-32 and ISIZE, little-endian (RFC 1952 §2.3.1). */
export function gzipTrailer(crc: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(length % 2 ** 32, 4);
  return out;
}

// CRC-32 combination as zlib's crc32_combine does it: arithmetic on polynomials over GF(2), the
// CRC of A‖B being CRC(A)·x^(8·|B|) + CRC(B) modulo the CRC polynomial (reflected). multModP
// uses 32-bit integer operations only: a mask of 0x80000000 leaves V8's integer arithmetic for
// doubles, and a combine cost microseconds, once per piece of every gzip scrape. shiftFor (exact
// for any length) runs once per piece, when it is compressed.
const POLY = 0xedb88320 | 0;

/** a·b modulo the CRC polynomial (reflected bit order), as a signed 32-bit integer. */
function multModP(a: number, b: number): number {
  let p = 0;
  for (let bit = 31; bit >= 0; bit--) {
    if (((a >>> bit) & 1) !== 0) {
      p ^= b;
      // No lower bit of a left: the rest of the product is 0.
      if (bit === 0 || a << (32 - bit) === 0) break;
    }
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N: Int32Array = (() => {
  const table = new Int32Array(32);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    table[k] = p;
    p = multModP(p, p);
  }
  return table;
})();

/** x^(8·bytes) modulo the polynomial. */
function shiftFor(bytes: number): number {
  let p = 0x80000000 | 0; // x^0
  let k = 3;
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
  return p;
}

/**
 * CRC-32 of A‖B from CRC(A), CRC(B) and |B| (or, when known, x^(8·|B|) modulo the polynomial:
 * a piece's `shift`).
 */
export function crc32Combine(
  crcA: number,
  crcB: number,
  lengthB: number,
  shiftB = shiftFor(lengthB),
): number {
  return (multModP(shiftB, crcA | 0) ^ crcB) >>> 0;
}

/** Assembles one gzip member from pieces written in order. */
export class GzipAssembler {
  private _crc = 0;
  private _length = 0;

  /** Counts a piece in the trailer; returns the bytes to write for it. */
  add(piece: DeflatedPiece): Buffer {
    this._crc =
      this._length === 0 ? piece.crc : crc32Combine(this._crc, piece.crc, piece.length, piece.shift);
    this._length += piece.length;
    return piece.data;
  }

  /** The final block and the trailer. */
  end(): Buffer {
    return Buffer.concat([FINAL_BLOCK, gzipTrailer(this._crc, this._length)]);
  }
}
