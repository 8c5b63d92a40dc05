/**
 * A growable buffer of protobuf wire format. Length-delimited fields are written by their callers
 * size-first (sizes are computed with the `*Size` helpers below), so nothing is written twice.
 */
export class ProtobufWriter {
  private _buf: Buffer;
  private _pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this._buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this._pos;
  }

  /** Bytes allocated (what the writer keeps while it is reused). */
  get capacity(): number {
    return this._buf.length;
  }

  /** The bytes written so far (a copy, so the writer can be reused). */
  bytes(): Buffer {
    return Buffer.from(this._buf.subarray(0, this._pos));
  }

  /** The bytes written so far, without copying (valid until the writer is written to again). */
  view(): Buffer {
    return this._buf.subarray(0, this._pos);
  }

  reset(): void {
    this._pos = 0;
  }

  private _ensure(n: number): void {
    if (this._pos + n <= this._buf.length) return;
    let size = this._buf.length * 2;
    while (size < this._pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this._buf.copy(next, 0, 0, this._pos);
    this._buf = next;
  }

  tag(field: number, wireType: 0 | 1 | 2): void {
    this.varint(field * 8 + wireType);
  }

  /** Unsigned varint, exact for values below 2^53. */
  varint(value: number): void {
    this._ensure(10);
    let v = value;
    while (v >= 0x80) {
      this._buf[this._pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this._buf[this._pos++] = v;
  }

  double(value: number): void {
    this._ensure(8);
    this._buf.writeDoubleLE(value, this._pos);
    this._pos += 8;
  }

  /** Raw bytes, e.g. a precomputed fixed64 timestamp or an already encoded message. */
  raw(bytes: Uint8Array): void {
    this._ensure(bytes.length);
    this._buf.set(bytes, this._pos);
    this._pos += bytes.length;
  }

  /**
   * Starts a length-delimited field's content, reserving one byte for its length (most are
   * shorter than 128 bytes); returns where the length goes, for finishDelimited.
   */
  startDelimited(): number {
    this._ensure(1);
    return this._pos++;
  }

  /** Writes the length of the content started at `at`, moving the content if it needs more bytes. */
  finishDelimited(at: number): void {
    const length = this._pos - at - 1;
    const size = varintSize(length);
    if (size > 1) {
      this._ensure(size - 1);
      this._buf.copyWithin(at + size, at + 1, this._pos);
      this._pos += size - 1;
    }
    let v = length;
    let p = at;
    while (v >= 0x80) {
      this._buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this._buf[p] = v;
  }

  /** A string field whose length is not known yet (UTF-8 encoded here, no separate sizing). */
  string(field: number, value: string): void {
    this.tag(field, 2);
    if (value.length > 64) {
      const n = Buffer.byteLength(value);
      this.varint(n);
      this._ensure(n);
      this._pos += this._buf.write(value, this._pos, n, 'utf8');
      return;
    }
    // Short strings (label names and values, mostly ASCII) are encoded in JS: cheaper than a
    // call into Buffer for each.
    this._ensure(1 + value.length * 3);
    const at = this._pos++;
    const buf = this._buf;
    let p = this._pos;
    for (let i = 0; i < value.length; i++) {
      let c = value.charCodeAt(i);
      if (c < 0x80) buf[p++] = c;
      else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length) {
          const d = value.charCodeAt(i + 1);
          if (d >= 0xdc00 && d < 0xe000) {
            i++;
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            buf[p++] = 0xf0 | (c >> 18);
            buf[p++] = 0x80 | ((c >> 12) & 0x3f);
            buf[p++] = 0x80 | ((c >> 6) & 0x3f);
            buf[p++] = 0x80 | (c & 0x3f);
            continue;
          }
        }
        // A lone surrogate becomes U+FFFD, as Buffer.write does.
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    this._pos = p;
    this.finishDelimited(at);
  }

  /** A string field; `byteLength` must be Buffer.byteLength(value). */
  stringField(field: number, value: string, byteLength: number): void {
    this.tag(field, 2);
    this.varint(byteLength);
    this._ensure(byteLength);
    this._pos += this._buf.write(value, this._pos, byteLength, 'utf8');
  }
}

export function varintSize(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Size of a length-delimited field (single-byte tag) whose content is `contentSize` bytes. */
export function delimitedSize(contentSize: number): number {
  return 1 + varintSize(contentSize) + contentSize;
}

/** Little-endian fixed64 bytes of nanoseconds since the epoch, from an [s, ns] time. */
export function fixed64Nanos(time: readonly [number, number]): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]), true);
  return bytes;
}
