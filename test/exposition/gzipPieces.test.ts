import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  crc32Combine,
  deflatePiece,
  deflatePieceSync,
  GZIP_HEADER,
  GzipAssembler,
} from '../../src/exposition/gzipPieces.ts';
import { DEFAULT_CHUNK_BYTES } from '../../src/exposition/BlockChunks.ts';

/** Exposition text shaped like a real scrape: one family, one series per object. */
function exposition(objects: number, from = 0): string {
  const lines: string[] = [];
  for (let i = from; i < from + objects; i++)
    lines.push(
      `kube_customresource_backup_size_bytes{customresource_group="backup.example.com",customresource_kind="Backup",customresource_version="v1",namespace="team-${i % 37}",name="backup-${i}",target="s3://bucket-${i % 11}/backup-${i}"} ${(i * 7919) % 1048576}`,
    );
  return lines.join('\n') + '\n';
}

async function assemble(pieces: readonly Buffer[]): Promise<Buffer> {
  const gzip = new GzipAssembler();
  const out = [GZIP_HEADER];
  for (const piece of pieces) out.push(gzip.add(await deflatePiece(piece)));
  out.push(gzip.end());
  return Buffer.concat(out);
}

/** Splits text into pieces of about `size` bytes at line ends (as chunks of whole blocks). */
function split(text: string, size: number): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', Math.min(text.length - 1, start + size));
    end = end === -1 ? text.length : end + 1;
    out.push(Buffer.from(text.slice(start, end)));
    start = end;
  }
  return out;
}

describe('gzip from pieces compressed apart', () => {
  it('combines CRC-32s exactly as the CRC of the concatenation', () => {
    const a = Buffer.from('first piece ✓ with some bytes');
    const bytes = Buffer.from(exposition(2000));
    for (const [x, y] of [
      [a, bytes],
      [bytes, a],
      [a, Buffer.alloc(0)],
      [Buffer.from('x'), Buffer.from('y')],
      [bytes.subarray(0, 65_537), bytes.subarray(65_537)],
    ] as const) {
      assert.equal(crc32Combine(crc32(x), crc32(y), y.length), crc32(Buffer.concat([x, y])));
    }
  });

  it("combines CRC-32s as zlib's crc32 of the concatenation, for any bytes (and a piece's shift)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 70_000 }),
        (x, y, padding) => {
          // Zeros in front of y reach lengths with many bits set, cheaply.
          const b = Buffer.concat([Buffer.alloc(padding), y]);
          const expected = crc32(Buffer.concat([x, b]));
          assert.equal(crc32Combine(crc32(x), crc32(b), b.length), expected);
          assert.equal(crc32Combine(crc32(x), crc32(b), b.length, deflatePieceSync(b).shift), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is one gzip member that zlib reads whole, byte for byte', async () => {
    const text = exposition(5000) + 'ünïcödé_sample{a="✓"} 1\n';
    const pieces = split(text, 64 * 1024);
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    const body = await assemble(pieces);
    assert.equal(gunzipSync(body).toString('utf8'), text);
    // One member: the only gzip magic is at the start (a multi-member body would have one per piece).
    assert.equal(body.subarray(0, 2).toString('hex'), '1f8b');
    // The trailer's ISIZE is the whole length, not a piece's.
    assert.equal(body.readUInt32LE(body.length - 4), Buffer.byteLength(text));
  });

  it('small pieces compressed on the calling thread fit in between', async () => {
    const gzip = new GzipAssembler();
    const head = deflatePieceSync(Buffer.from('# HELP x y\n# TYPE x gauge\n'));
    const middle = await deflatePiece(Buffer.from(exposition(300)));
    const body = Buffer.concat([GZIP_HEADER, gzip.add(head), gzip.add(middle), gzip.end()]);
    assert.equal(gunzipSync(body).toString(), '# HELP x y\n# TYPE x gauge\n' + exposition(300));
  });

  it('Python reads it whole', async (t) => {
    const text = exposition(3000);
    const body = await assemble(split(text, 64 * 1024));
    const python = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'],
      { input: body, maxBuffer: 1 << 26 },
    );
    if (python.error) return t.skip('no /usr/bin/python3');
    assert.equal(python.status, 0, python.stderr.toString());
    assert.equal(python.stdout.toString(), text);
  });

  it('compresses within 10% of one gzip stream over the same body (pieces of the default chunk size)', async () => {
    // Objects of several shapes, so the body is not one repeated line.
    const text = exposition(20_000) + exposition(20_000, 1_000_000).replaceAll('size_bytes', 'phase');
    const whole = gzipSync(Buffer.from(text)).length;
    const pieced = (await assemble(split(text, DEFAULT_CHUNK_BYTES))).length;
    assert.ok(pieced <= whole * 1.1, `pieced ${pieced} bytes, one stream ${whole} bytes`);
  });
});
