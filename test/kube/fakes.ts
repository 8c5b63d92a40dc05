import type { Clock } from '../../src/runtime/Clock.ts';
import type { KubeObject, WatchEvent } from '../../src/kube/KubeObject.ts';
import type { ListerWatcher, ListPage, ListRequest, WatchRequest } from '../../src/kube/ListerWatcher.ts';

/** Lets promise chains and async iterators run until nothing is left to do. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock whose time moves only when a test says so; timers fire in order as it advances. */
export class FakeClock implements Clock {
  time = 1_700_000_000_000;
  /** How far the monotonic clock moves on every read: 0 keeps every time slice open. */
  monotonicStep = 0;
  private _monotonic = 0;
  private _seq = 0;
  private readonly _timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  /** Fake time, plus `monotonicStep` per read before: a slice ends after a fixed number of reads. */
  monotonic(): number {
    this._monotonic += this.monotonicStep;
    return this.time + this._monotonic;
  }

  random(): number {
    return 0.5;
  }

  setImmediate(callback: () => void): void {
    setImmediate(callback);
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this._seq;
    this._timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this._timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this._timers.size;
  }

  /** Moves time forward by `ms`, firing due timers (and letting what they start run) in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this._timers)
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this._timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
      await settle();
    }
    // Never back: a callback may have moved the time past the end (a step that takes time).
    this.time = Math.max(this.time, end);
    await settle();
  }
}

/** A watch stream the test feeds; it fails with the abort reason when its request is aborted. */
export class FakeWatchStream implements AsyncIterable<WatchEvent> {
  readonly request: WatchRequest;
  private readonly _queue: ({ event: WatchEvent } | { end: true } | { error: unknown })[] = [];
  private _wake: (() => void) | undefined;
  private readonly _signal: AbortSignal;

  constructor(request: WatchRequest, signal: AbortSignal) {
    this.request = request;
    this._signal = signal;
    signal.addEventListener('abort', () => this._wake?.(), { once: true });
  }

  get aborted(): boolean {
    return this._signal.aborted;
  }

  push(type: string, object: KubeObject): this {
    this._queue.push({ event: { type, object } });
    this._wake?.();
    return this;
  }

  end(): void {
    this._queue.push({ end: true });
    this._wake?.();
  }

  fail(error: unknown): void {
    this._queue.push({ error });
    this._wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
    for (;;) {
      if (this._signal.aborted) throw this._signal.reason ?? new Error('aborted');
      const item = this._queue.shift();
      if (!item) {
        await new Promise<void>((resolve) => (this._wake = resolve));
        continue;
      }
      if ('end' in item) return;
      if ('error' in item) throw item.error;
      yield item.event;
    }
  }
}

type ListAnswer = (request: ListRequest) => ListPage | Promise<ListPage>;
/** Returning 'hang' keeps the watch request unanswered (no response headers) until it is aborted. */
type WatchAnswer = (request: WatchRequest, stream: FakeWatchStream) => void | 'hang';

/** A scripted ListerWatcher: each call takes the next answer queued by the test (or the default). */
export class FakeListerWatcher implements ListerWatcher {
  readonly lists: ListRequest[] = [];
  readonly watches: FakeWatchStream[] = [];
  refreshes = 0;
  private readonly _listAnswers: ListAnswer[] = [];
  private readonly _watchAnswers: WatchAnswer[] = [];
  /** Used when no answer is queued: an empty collection at resourceVersion 1. */
  defaultList: ListAnswer = () => ({ items: [], continue: undefined, resourceVersion: '1' });

  onList(...answers: ListAnswer[]): this {
    this._listAnswers.push(...answers);
    return this;
  }

  onWatch(...answers: WatchAnswer[]): this {
    this._watchAnswers.push(...answers);
    return this;
  }

  get lastWatch(): FakeWatchStream {
    const stream = this.watches.at(-1);
    if (!stream) throw new Error('no watch opened yet');
    return stream;
  }

  list(request: ListRequest, signal: AbortSignal): Promise<ListPage> {
    this.lists.push(request);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const answer = this._listAnswers.shift() ?? this.defaultList;
    try {
      return Promise.resolve(answer(request));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  watch(request: WatchRequest, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const stream = new FakeWatchStream(request, signal);
    this.watches.push(stream);
    try {
      if (this._watchAnswers.shift()?.(request, stream) === 'hang')
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return Promise.resolve(stream);
  }

  refreshCredentials(): Promise<void> {
    this.refreshes++;
    return Promise.resolve();
  }
}

export function obj(name: string, resourceVersion = '1', namespace = 'ns'): KubeObject {
  return { metadata: { name, namespace, resourceVersion } };
}

export function page(items: KubeObject[], resourceVersion: string, continueToken?: string): ListPage {
  return { items, continue: continueToken, resourceVersion };
}

export function bookmark(resourceVersion: string, initialEventsEnd = false): KubeObject {
  return {
    metadata: {
      resourceVersion,
      ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
    },
  };
}
