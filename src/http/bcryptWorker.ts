// Worker thread entry (BcryptPool): compares passwords with bcrypt hashes off the main thread.
// Bundled as dist/bcryptWorker.js by scripts/build.js; run from the sources in a checkout.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { BcryptReply, BcryptRequest } from './BcryptPool.ts';

const port = parentPort;
if (!port) throw new Error('bcryptWorker.ts runs as a worker thread (BcryptPool)');
port.on('message', ({ id, password, hash }: BcryptRequest) => {
  let reply: BcryptReply;
  try {
    reply = { id, ok: bcrypt.compareSync(password, hash) };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  port.postMessage(reply);
});
