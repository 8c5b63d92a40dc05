import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** A comparison asked of a worker. */
export interface BcryptRequest {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}

/** A worker's answer: the verdict, or why bcrypt could not compare (a malformed hash). */
export type BcryptReply =
  { readonly id: number; readonly ok: boolean } | { readonly id: number; readonly error: string };

export interface BcryptPoolOptions {
  /**
   * Worker threads. Default: one per core beyond the first, at most two, at least one, so the
   * event loop keeps a core for itself on a small machine.
   */
  readonly size?: number;
  /** Told when a worker fails or cannot start (the comparison in hand fails). */
  readonly onWorkerError?: (err: Error) => void;
}

// The worker entry sits next to this module: src/http/bcryptWorker.ts in a checkout, and
// dist/bcryptWorker.js in the bundle (every bundled file is directly in dist/, scripts/build.js).
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './bcryptWorker.ts' : './bcryptWorker.js',
  import.meta.url,
);

interface Task extends BcryptRequest {
  readonly resolve: (ok: boolean) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  task: Task | undefined;
}

/**
 * bcrypt comparisons on worker threads: a password check costs tens to hundreds of milliseconds
 * of CPU by design, which on the main thread would stall every request and probe behind it.
 * Workers start on the first comparison; a worker that dies is replaced on the next one; an idle
 * worker does not keep the process alive. The queue is unbounded here: callers bound it
 * (BoundedChecks).
 */
export class BcryptPool {
  private readonly _size: number;
  private readonly _onWorkerError: (err: Error) => void;
  private readonly _slots: Slot[] = [];
  private readonly _queue: Task[] = [];
  private _nextId = 0;
  private _closed = false;

  constructor(options: BcryptPoolOptions = {}) {
    this._size = Math.max(1, options.size ?? Math.min(2, availableParallelism() - 1));
    this._onWorkerError = options.onWorkerError ?? (() => undefined);
  }

  get size(): number {
    return this._size;
  }

  /** Whether `password` matches the bcrypt `hash`; rejects if the worker fails. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this._closed) return Promise.reject(new Error('bcrypt pool closed'));
    return new Promise((resolve, reject) => {
      this._queue.push({ id: this._nextId++, password, hash, resolve, reject });
      this._dispatch();
    });
  }

  /** Stops the workers; queued comparisons are rejected. */
  async close(): Promise<void> {
    this._closed = true;
    for (const task of this._queue.splice(0)) task.reject(new Error('bcrypt pool closed'));
    await Promise.all(this._slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private _dispatch(): void {
    while (this._queue.length > 0) {
      let slot = this._slots.find((s) => s.task === undefined);
      if (!slot && this._slots.length < this._size) slot = this._spawn();
      if (!slot) return;
      const task = this._queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({
        id: task.id,
        password: task.password,
        hash: task.hash,
      } satisfies BcryptRequest);
    }
  }

  private _spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      name: 'bcrypt',
      // A comparison needs a few kilobytes; this only caps a worker gone wrong.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot = { worker, task: undefined };
    this._slots.push(slot);
    worker.on('message', (reply: BcryptReply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      slot.task = undefined;
      slot.worker.unref();
      if ('error' in reply) task.reject(new Error(`bcrypt: ${reply.error}`));
      else task.resolve(reply.ok);
      this._dispatch();
    });
    const fail = (err: Error) => {
      const index = this._slots.indexOf(slot);
      if (index < 0) return;
      this._slots.splice(index, 1);
      slot.task?.reject(err);
      slot.task = undefined;
      if (this._closed) return;
      this._onWorkerError(err);
      // A replacement starts only with a comparison in hand, so a worker that cannot start at
      // all fails each queued comparison once and never spins.
      this._dispatch();
    };
    worker.on('error', (err: Error) => fail(err));
    worker.on('exit', (code) => fail(new Error(`bcrypt worker exited with code ${code}`)));
    return slot;
  }
}
