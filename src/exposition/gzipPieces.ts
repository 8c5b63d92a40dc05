import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';
import type { ZlibOptions } from 'node:zlib';

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
}

const PIECE_OPTIONS: ZlibOptions = { finishFlush: constants.Z_SYNC_FLUSH };

/** Compresses a piece on libuv's thread pool (the event loop only pays for the CRC). */
export function deflatePiece(bytes: Buffer): Promise<DeflatedPiece> {
  return new Promise((resolve, reject) => {
    deflateRaw(bytes, PIECE_OPTIONS, (err, data) =>
      err ? reject(err) : resolve({ data, crc: crc32(bytes), length: bytes.length }),
    );
  });
}

/** The same on the calling thread, for small pieces (family headers, a scrape's tail). */
export function deflatePieceSync(bytes: Buffer): DeflatedPiece {
  return { data: deflateRawSync(bytes, PIECE_OPTIONS), crc: crc32(bytes), length: bytes.length };
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
// CRC of A‖B being CRC(A)·x^(8·|B|) + CRC(B) modulo the CRC polynomial (reflected).
const POLY = 0xedb88320;

/** a·b modulo the CRC polynomial (reflected bit order). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N: number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    table.push(p);
    p = multModP(p, p);
  }
  return table;
})();

/** x^(8·bytes) modulo the polynomial. */
function shiftFor(bytes: number): number {
  let p = 0x80000000; // x^0
  let n = bytes;
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A‖B from CRC(A), CRC(B) and |B|. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(shiftFor(lengthB), crcA) ^ crcB) >>> 0;
}

/** Assembles one gzip member from pieces written in order. */
export class GzipAssembler {
  private _crc = 0;
  private _length = 0;

  /** Counts a piece in the trailer; returns the bytes to write for it. */
  add(piece: DeflatedPiece): Buffer {
    this._crc = this._length === 0 ? piece.crc : crc32Combine(this._crc, piece.crc, piece.length);
    this._length += piece.length;
    return piece.data;
  }

  /** The final block and the trailer. */
  end(): Buffer {
    return Buffer.concat([FINAL_BLOCK, gzipTrailer(this._crc, this._length)]);
  }
}
