import type { Logger } from 'pino';
import { parseKubeJson } from '../sources/objectFiles.ts';
import { Backoff, sleep } from './Backoff.ts';
import { KubeApiError } from './KubeClient.ts';
import type { SourceTelemetry } from '../sources/Source.ts';
import type { KubeClient } from './KubeClient.ts';

/** What to list and watch. */
export interface ReflectorTarget {
  /** Unique id, used in keys, logs and metrics (e.g. `myteam.io/v1/foos`). */
  readonly id: string;
  /** Collection path, e.g. `/apis/myteam.io/v1/foos` or `/apis/myteam.io/v1/namespaces/ns/foos`. */
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}

export type KubeObject = Record<string, unknown> & {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
};

/** Receives the objects; a throwing handler is caught and counted, it never stops the watch. */
export interface ReflectorHandler {
  upsert(key: string, object: KubeObject): void;
  delete(key: string): void;
}

export type ReflectorState = 'listing' | 'watching' | 'backoff' | 'not-found' | 'forbidden' | 'stopped';

/** Self-metrics hooks. */
export type ReflectorObserver = SourceTelemetry;

export interface ReflectorOptions {
  readonly client: KubeClient;
  readonly target: ReflectorTarget;
  readonly handler: ReflectorHandler;
  readonly logger: Logger;
  readonly observer?: ReflectorObserver | undefined;
  /** Page size of lists. @default 500 */
  readonly pageSize?: number;
  /** Watch timeouts are random in [min, 2*min) seconds, as client-go does. @default 300 */
  readonly minWatchTimeoutSeconds?: number;
  readonly backoff?: Backoff;
}

const noopObserver: ReflectorObserver = {
  list() {},
  watch() {},
  event() {},
  restart() {},
  handlerError() {},
};

/**
 * client-go's reflector, for one collection: a paginated list, then a watch with bookmarks and a
 * randomised timeout, resumed from the last resourceVersion after transient errors; a relist on
 * 410 Gone or "too large resource version", which also finds objects deleted during the gap.
 * Errors are classified and retried with backoff forever; `stop()` really stops (a generation
 * check drops anything that arrives afterwards).
 */
export class Reflector {
  readonly target: ReflectorTarget;
  private readonly _o: ReflectorOptions;
  private readonly _observer: ReflectorObserver;
  private readonly _backoff: Backoff;
  private readonly _abort = new AbortController();
  private readonly _keys = new Set<string>();
  private _resourceVersion = '';
  private _synced = false;
  private _state: ReflectorState = 'listing';
  private _loop: Promise<void> | undefined;
  private _lastEventAt = 0;
  private _lastSyncAt = 0;

  constructor(options: ReflectorOptions) {
    this._o = options;
    this.target = options.target;
    this._observer = options.observer ?? noopObserver;
    this._backoff = options.backoff ?? new Backoff();
  }

  /** True once a list has completed (the cache holds the collection's state). */
  get synced(): boolean {
    return this._synced;
  }

  get state(): ReflectorState {
    return this._state;
  }

  get objectCount(): number {
    return this._keys.size;
  }

  /** Seconds since the last event or bookmark (or list), for staleness alerts. */
  get lastActivityAt(): number {
    return Math.max(this._lastEventAt, this._lastSyncAt);
  }

  get lastSyncAt(): number {
    return this._lastSyncAt;
  }

  start(): void {
    this._loop ??= this._run();
  }

  /** Stops the loop; with `dropObjects`, also deletes every object it delivered (CRD removed). */
  async stop(dropObjects = false): Promise<void> {
    this._abort.abort();
    await this._loop;
    this._state = 'stopped';
    if (dropObjects) {
      for (const key of this._keys) this._safe(() => this._o.handler.delete(key));
      this._keys.clear();
    }
  }

  private get _stopped(): boolean {
    return this._abort.signal.aborted;
  }

  private async _run(): Promise<void> {
    const { logger, target } = this._o;
    let needList = true;
    while (!this._stopped) {
      try {
        if (needList) {
          this._state = 'listing';
          await this._list();
          needList = false;
        }
        this._state = 'watching';
        const events = await this._watch();
        if (events === 0 && !this._stopped) {
          // A watch that ends at once with nothing delivered is a symptom (a proxy cutting it); back off.
          await sleep(this._backoff.next(), this._abort.signal);
        }
      } catch (err) {
        if (this._stopped) break;
        const { relist, delayMs, state, reason } = this._classify(err);
        if (relist) needList = true;
        this._state = state;
        this._observer.restart(target.id, reason);
        const level = state === 'not-found' || reason === 'expired' ? 'info' : 'warn';
        logger[level](
          { target: target.id, err: errorText(err), retryInMs: Math.round(delayMs), reason },
          'list/watch failed; retrying',
        );
        await sleep(delayMs, this._abort.signal);
      }
    }
    this._state = 'stopped';
  }

  private _classify(err: unknown): {
    relist: boolean;
    delayMs: number;
    state: ReflectorState;
    reason: string;
  } {
    if (err instanceof KubeApiError) {
      const tooLarge = /too large resource version/i.test(err.message);
      if (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone' || tooLarge) {
        return {
          relist: true,
          delayMs: tooLarge ? this._backoff.next() : 0,
          state: 'listing',
          reason: 'expired',
        };
      }
      if (err.status === 404)
        return {
          relist: true,
          delayMs: this._backoff.next(undefined, 0, 30_000),
          state: 'not-found',
          reason: 'not-found',
        };
      if (err.status === 403)
        return {
          relist: true,
          delayMs: this._backoff.next(undefined, 10_000, 300_000),
          state: 'forbidden',
          reason: 'forbidden',
        };
      if (err.status === 401)
        return { relist: false, delayMs: this._backoff.next(), state: 'backoff', reason: 'unauthorized' };
      if (err.status === 429) {
        return {
          relist: false,
          delayMs: this._backoff.next(undefined, (err.retryAfterSeconds ?? 1) * 1000),
          state: 'backoff',
          reason: 'throttled',
        };
      }
      return { relist: false, delayMs: this._backoff.next(), state: 'backoff', reason: `http-${err.status}` };
    }
    // Network errors, resets, timeouts: keep the resourceVersion and re-watch from it.
    return { relist: !this._synced, delayMs: this._backoff.next(), state: 'backoff', reason: 'network' };
  }

  /** Paginated list; replaces the collection's state, deleting objects that vanished. */
  private async _list(): Promise<void> {
    const { client, target } = this._o;
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const response = await client.get(
          target.path,
          {
            limit: String(this._o.pageSize ?? 500),
            continue: continueToken,
            labelSelector: target.labelSelector,
            fieldSelector: target.fieldSelector,
          },
          this._abort.signal,
        );
        const page = parseKubeJson(await response.text()) as {
          items?: KubeObject[];
          metadata?: { continue?: string; resourceVersion?: string };
        };
        if (this._stopped) return;
        for (const item of page.items ?? []) {
          const key = objectKey(target.id, item);
          seen.add(key);
          this._keys.add(key);
          this._safe(() => this._o.handler.upsert(key, item));
        }
        continueToken = page.metadata?.continue || undefined;
        resourceVersion = page.metadata?.resourceVersion ?? '';
      } while (continueToken);
    } catch (err) {
      this._observer.list(target.id, 'error', 0);
      // An expired continue token: start the whole list again, as client-go falls back.
      if (err instanceof KubeApiError && err.status === 410 && continueToken)
        throw new KubeApiError(500, 'continue token expired; relisting');
      throw err;
    }
    for (const key of this._keys) {
      if (!seen.has(key)) {
        this._keys.delete(key);
        this._safe(() => this._o.handler.delete(key));
      }
    }
    this._resourceVersion = resourceVersion;
    this._observer.list(target.id, 'success', seen.size);
    this._synced = true;
    this._lastSyncAt = Date.now();
  }

  /** Watches until the server ends the stream (returns the number of events) or an error. */
  private async _watch(): Promise<number> {
    const { client, target } = this._o;
    const min = this._o.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    const watchAbort = new AbortController();
    const onStop = () => watchAbort.abort();
    this._abort.signal.addEventListener('abort', onStop, { once: true });
    // The server ends the watch at timeoutSeconds; silence well past that means a dead connection.
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => watchAbort.abort(new Error('watch idle past its timeout')),
        (timeoutSeconds + 60) * 1000,
      );
    };
    armIdle();
    let events = 0;
    try {
      const response = await client.get(
        target.path,
        {
          watch: '1',
          resourceVersion: this._resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
          labelSelector: target.labelSelector,
          fieldSelector: target.fieldSelector,
        },
        watchAbort.signal,
      );
      // Counted when established, as kube-state-metrics' watch_total does; a later failure of the
      // stream counts an error too.
      this._observer.watch(target.id, 'success');
      this._backoff.reset();
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body ?? []) {
        armIdle();
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim() === '') continue;
          if (this._stopped) return events;
          this._handleEvent(parseKubeJson(line) as { type?: string; object?: KubeObject });
          events++;
        }
      }
      return events;
    } catch (err) {
      if (this._stopped) return events;
      this._observer.watch(target.id, 'error');
      throw err;
    } finally {
      clearTimeout(idle);
      this._abort.signal.removeEventListener('abort', onStop);
      watchAbort.abort();
    }
  }

  private _handleEvent(event: { type?: string; object?: KubeObject }): void {
    const { target, handler } = this._o;
    const object = event.object;
    const type = event.type ?? '';
    this._lastEventAt = Date.now();
    this._observer.event(target.id, type);
    if (type === 'ERROR') {
      const status = (object ?? {}) as { code?: number; message?: string; reason?: string };
      throw new KubeApiError(status.code ?? 500, status.message ?? 'watch error', status.reason);
    }
    const rv = object?.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') {
      const key = objectKey(target.id, object!);
      this._keys.add(key);
      this._safe(() => handler.upsert(key, object!));
    } else if (type === 'DELETED') {
      const key = objectKey(target.id, object!);
      this._keys.delete(key);
      this._safe(() => handler.delete(key));
    }
    // BOOKMARK carries only a resourceVersion; every event type advances it, even if a handler threw.
    if (rv) this._resourceVersion = rv;
  }

  private _safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this._observer.handlerError(this._o.target.id);
      this._o.logger.error({ target: this._o.target.id, err }, 'object handler failed; the watch goes on');
    }
  }
}

export function objectKey(targetId: string, object: KubeObject): string {
  const md = object.metadata ?? {};
  return `${targetId}|${md.namespace ?? ''}/${md.name ?? ''}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}
