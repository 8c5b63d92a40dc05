// Worker thread entry (BcryptPool): compares passwords with bcrypt hashes off the main thread.
// Bundled as dist/bcryptWorker.js by scripts/build.js; run from the sources in a checkout.
import { constants, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { BcryptReply, BcryptRequest } from './BcryptPool.ts';

const port = parentPort;
if (!port) throw new Error('bcryptWorker.ts runs as a worker thread (BcryptPool)');
// On Linux a thread has its own nice value (pid 0 is this thread): on a busy machine the event
// loop, which serves probes and scrapes, comes before password checks. Elsewhere it would renice
// the whole process, so it is left alone.
if (process.platform === 'linux') {
  try {
    setPriority(constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // Not allowed (a seccomp profile, say): checks run at normal priority.
  }
}
port.on('message', ({ id, password, hash }: BcryptRequest) => {
  let reply: BcryptReply;
  try {
    reply = { id, ok: bcrypt.compareSync(password, hash) };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  port.postMessage(reply);
});
