import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports handed out, reserved across the test processes of one machine: test files run in
 * parallel, and the kernel may return a port one process just released to another process's
 * listen(0) before the first peer has bound it. A reservation is a file named after the port,
 * created exclusively; one older than RESERVATION_MS belongs to a process that is gone.
 */
const RESERVATIONS = join(tmpdir(), 'crd-bridge-test-ports');
const RESERVATION_MS = 30 * 60_000;
const mine: string[] = [];

process.once('exit', () => {
  for (const file of mine) rmSync(file, { force: true });
});

function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let age: number;
    try {
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      return false;
    }
    if (age < RESERVATION_MS) return false;
    writeFileSync(file, String(process.pid));
  }
  mine.push(file);
  return true;
}

/**
 * A TCP port on 127.0.0.1 that is free right now and reserved for this process. The peer binds it
 * a moment later, so a collision with a process outside the test suite is possible but rare;
 * peers that fail to bind show that in their log.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address();
        server.close(() => {
          if (address && typeof address === 'object') resolve(address.port);
          else reject(new Error('could not read the port of a listening socket'));
        });
      });
    });
    if (reserve(port)) return port;
  }
  throw new Error('freePort: no unused port found after 50 attempts');
}
