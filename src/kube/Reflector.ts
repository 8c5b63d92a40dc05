import type { Logger } from 'pino';
import { pendingWork } from '../sources/Source.ts';
import type { ObjectSink, SourceTelemetry } from '../sources/Source.ts';
import { Backoff } from './Backoff.ts';
import { sleep, systemClock } from '../runtime/Clock.ts';
import type { Clock } from '../runtime/Clock.ts';
import { Slicer } from '../runtime/Slicer.ts';
import { classifyError } from './classifyError.ts';
import type { FailureAction, ReflectorState } from './classifyError.ts';
import { ContinueExpiredError, KubeApiError, WatchIdleError } from './errors.ts';
import { objectKey } from './KubeObject.ts';
import type { KubeObject, WatchEvent } from './KubeObject.ts';
import type { ListerWatcher, ListPage } from './ListerWatcher.ts';

/** What to list and watch. */
export interface ReflectorTarget {
  /** Unique id, used in keys, logs and metrics (e.g. `myteam.io/v1/foos`). */
  readonly id: string;
  /** Collection path, e.g. `/apis/myteam.io/v1/foos` or `/apis/myteam.io/v1/namespaces/ns/foos`. */
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}

/** Self-metrics hooks. */
export type ReflectorObserver = SourceTelemetry;

/**
 * How the collection's state is fetched (at start and after a 410).
 * - `watch-list`: one streaming watch (`sendInitialEvents=true`), which goes on as the watch;
 *   falls back to `list` when the server refuses it.
 * - `list`: a paginated list, then a watch.
 */
export type InitialSyncMode = 'watch-list' | 'list';

export interface ReflectorOptions {
  readonly listerWatcher: ListerWatcher;
  readonly target: ReflectorTarget;
  /**
   * Receives the objects, under the target's id as scope, and every full listing (the relist diff
   * is the sink's). A throwing sink is caught and counted, it never stops the watch; an upsert
   * that returns a promise is waited for before the next object is handled (backpressure).
   */
  readonly sink: ObjectSink;
  readonly logger: Logger;
  readonly observer?: ReflectorObserver | undefined;
  /** @default 'watch-list' */
  readonly initialSync?: InitialSyncMode | undefined;
  /** Page size of lists. @default 500 */
  readonly pageSize?: number | undefined;
  /**
   * The server ends each watch after a random [min, 2*min) seconds (client-go spreads its watch
   * timeouts the same way, over 5 to 10 minutes). Kept short because the end of a watch is the
   * one thing an idle watch is sure to carry: the API server sends a bookmark on a watch only
   * once a minute, starting a minute after the watch began, and only if the collection's
   * resourceVersion moved (see docs/kubernetes.md). @default 20
   */
  readonly minWatchTimeoutSeconds?: number | undefined;
  /**
   * A watch not ended by the server this long after its timeout (and silent for as long), or a
   * streaming list silent for two minimum watch timeouts plus this, is presumed dead: it is abandoned and watched again from the last resourceVersion,
   * and the target counts as not ready until a new watch is established. @default 10
   */
  readonly watchGraceSeconds?: number | undefined;
  /** @default a Backoff on `clock` */
  readonly backoff?: Backoff | undefined;
  /** @default the system clock */
  readonly clock?: Clock | undefined;
  /**
   * Longest stretch of handling events (or a list page's items) before the event loop gets a turn,
   * in ms of real time: a buffered backlog would otherwise hold scrapes and probes until it is
   * done. @default 10
   */
  readonly sliceMs?: number | undefined;
}

const noopObserver: ReflectorObserver = {
  list() {},
  watch() {},
  event() {},
  restart() {},
  handlerError() {},
};

/** The bookmark annotation that ends a streaming list's initial events. */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** A streaming list's server-side timeout: its initial events (a whole collection) must fit in it. */
const STREAMING_LIST_TIMEOUT_SECONDS = 600;

/** `requestRelist` lists again at most this often: a relist costs what the first sync did. */
const RELIST_REQUEST_INTERVAL_MS = 60_000;

/**
 * client-go's reflector, for one collection, as a state machine over a ListerWatcher: an initial
 * sync (streaming watch-list, or a paginated list), then watches with bookmarks and short
 * randomised timeouts, each resumed from the last resourceVersion (also after transient errors);
 * a relist on 410 Gone or "too large resource version", which also finds objects deleted during
 * the gap (the sink's relist diff, as client-go's Store.Replace).
 * A watch the server has not ended by its timeout plus a grace is presumed dead (a proxy or NAT
 * that keeps the connection but no longer forwards it): client-go finds those with HTTP/2 pings,
 * which an HTTP/1.1 watch cannot send.
 * Failures are classified by `classifyError` and retried forever; `stop()` really stops (nothing
 * is delivered afterwards and no timer is left).
 */
export class Reflector {
  readonly target: ReflectorTarget;
  private readonly _o: ReflectorOptions;
  private readonly _lw: ListerWatcher;
  private readonly _observer: ReflectorObserver;
  private readonly _clock: Clock;
  private readonly _backoff: Backoff;
  private readonly _abort = new AbortController();
  private readonly _sink: ObjectSink;
  private _resourceVersion = '';
  private _synced = false;
  private _state: ReflectorState = 'listing';
  private _loop: Promise<void> | undefined;
  private _lastEventAt = 0;
  /** When the server last ended a watch at its timeout: a sign of life too. */
  private _lastEndAt = 0;
  private _lastSyncAt = 0;
  /** Why the watch is presumed dead, from then until a new watch is established. */
  private _presumedDead: string | undefined;
  /** Set once the server refused a streaming list: use paginated lists from then on. */
  private _watchListRefused = false;
  /** The next attempt fetches the whole collection (at start, after a 410 or a 403/404). */
  private _needSync = true;
  /** The running watch's abort, for `requestRelist`. */
  private _watchAbort: AbortController | undefined;
  /** `requestRelist` ended the running watch: not a failure. */
  private _relistRequested = false;
  private _lastRelistRequestAt = Number.NEGATIVE_INFINITY;
  /** Resolved with true at the first sync, or false when stopped before it. */
  private readonly _firstSync: Promise<boolean>;
  private _resolveFirstSync!: (synced: boolean) => void;

  constructor(options: ReflectorOptions) {
    this._o = options;
    this.target = options.target;
    this._lw = options.listerWatcher;
    this._sink = options.sink;
    this._observer = options.observer ?? noopObserver;
    this._clock = options.clock ?? systemClock;
    this._backoff = options.backoff ?? new Backoff({ clock: this._clock });
    this._firstSync = new Promise((resolve) => (this._resolveFirstSync = resolve));
  }

  /** Resolves true once the first sync is done, or false if the reflector stops before. */
  whenSynced(): Promise<boolean> {
    return this._firstSync;
  }

  /** True once a list has completed (the cache holds the collection's state). */
  get synced(): boolean {
    return this._synced;
  }

  get state(): ReflectorState {
    return this._state;
  }

  get objectCount(): number {
    return this._sink.objectCount(this.target.id);
  }

  /** The resourceVersion the next watch resumes from ('' before the first sync or after a 410). */
  get resourceVersion(): string {
    return this._resourceVersion;
  }

  /**
   * Epoch ms of the last event, bookmark, completed list or watch ended by the server at its
   * timeout (0: never), for staleness alerts.
   */
  get lastActivityAt(): number {
    return Math.max(this._lastEventAt, this._lastSyncAt, this._lastEndAt);
  }

  /**
   * Set while the watch is presumed dead (silent past its deadline), with why, until a new watch
   * is established or a list completes: the data may be stale, so the target is not ready.
   */
  get presumedDead(): string | undefined {
    return this._presumedDead;
  }

  /** Epoch ms of the last completed list (0: never). */
  get lastSyncAt(): number {
    return this._lastSyncAt;
  }

  /** True while streaming lists are used for the initial sync. */
  get usesWatchList(): boolean {
    return (this._o.initialSync ?? 'watch-list') === 'watch-list' && !this._watchListRefused;
  }

  start(): void {
    this._loop ??= this._run();
  }

  /** Stops the loop; resolves once no request, timer or callback of this reflector is left. */
  async stop(): Promise<void> {
    this._abort.abort();
    await this._loop;
    this._state = 'stopped';
    this._resolveFirstSync(false);
  }

  /**
   * Lists the collection again, at most once a minute: a listing delivers every object again,
   * so the sink can take objects it refused for want of room (it kept only their identity).
   * The running watch ends; the list that follows is a full sync, as after 410 Gone.
   */
  requestRelist(): void {
    const now = this._clock.now();
    if (this._stopped || now - this._lastRelistRequestAt < RELIST_REQUEST_INTERVAL_MS) return;
    // A listing in progress (a streaming list included) delivers every object anyway.
    if (this._state === 'listing') return;
    this._lastRelistRequestAt = now;
    this._needSync = true;
    if (this._watchAbort) {
      this._relistRequested = true;
      this._watchAbort.abort();
    }
  }

  /** Stops, then deletes every object it delivered (its CRD was removed). */
  async stopAndDropObjects(): Promise<void> {
    await this.stop();
    this._safe(() => this._sink.dropScope(this.target.id));
  }

  private get _stopped(): boolean {
    return this._abort.signal.aborted;
  }

  private async _run(): Promise<void> {
    while (!this._stopped) {
      try {
        if (this._needSync && this.usesWatchList) {
          this._state = 'listing';
          await this._watchList();
          continue;
        }
        if (this._needSync) {
          this._state = 'listing';
          await this._list();
        }
        this._state = 'watching';
        const endedEarly = await this._watch({});
        if (endedEarly) await this._shortWatchPause();
      } catch (err) {
        if (this._stopped) break;
        const action = classifyError(err);
        if (action.relist) {
          this._needSync = true;
          if (action.reason !== 'continue-expired') this._resourceVersion = '';
        } else if (!this._resourceVersion) {
          // Nothing to resume a watch from: the retry is a list.
          this._needSync = true;
        }
        await this._retryAfter(err, action);
      }
    }
    this._state = 'stopped';
  }

  /** A watch that ends early with nothing delivered is a symptom (a proxy cutting it): back off. */
  private async _shortWatchPause(): Promise<void> {
    if (!this._stopped) await sleep(this._clock, this._backoff.next(), this._abort.signal);
  }

  private async _retryAfter(err: unknown, action: FailureAction): Promise<void> {
    const { logger, target } = this._o;
    this._state = action.state;
    this._observer.restart(target.id, action.reason);
    const delay = action.delay;
    const delayMs = delay.kind === 'none' ? 0 : this._backoff.next(delay.minMs, delay.capMs);
    logger[action.level](
      { target: target.id, err: errorText(err), retryInMs: Math.round(delayMs), reason: action.reason },
      'list/watch failed; retrying',
    );
    if (action.refreshCredentials) {
      try {
        await this._lw.refreshCredentials?.();
      } catch (refreshErr) {
        logger.warn({ target: target.id, err: errorText(refreshErr) }, 'could not re-read credentials');
      }
    }
    if (delayMs > 0) await sleep(this._clock, delayMs, this._abort.signal);
  }

  /**
   * Paginated list; replaces the collection's state, deleting objects that vanished. Page N+1 is
   * requested before page N is processed, so the server's work overlaps ours.
   */
  private async _list(): Promise<void> {
    const { target } = this._o;
    let listed = 0;
    const signal = this._abort.signal;
    const limit = this._o.pageSize ?? 500;
    let resourceVersion = '';
    let continued = false;
    let pending: Promise<ListPage> | undefined = this._lw.list({ limit }, signal);
    this._safe(() => this._sink.beginSync(target.id));
    try {
      while (pending) {
        const page: ListPage = await pending;
        if (this._stopped) return;
        pending = undefined;
        if (page.continue) {
          continued = true;
          pending = this._lw.list({ limit, continue: page.continue }, signal);
          // Awaited in the next turn of the loop; if this one ends early the rejection is ours.
          pending.catch(() => {});
        }
        const slicer = new Slicer({ sliceMs: this._o.sliceMs, clock: this._clock });
        for (const item of page.items) {
          listed++;
          const busy = this._upsert(item);
          if (busy) await busy;
          const turn = slicer.turn();
          if (turn) await turn;
          if (this._stopped) return;
        }
        resourceVersion = page.resourceVersion;
      }
    } catch (err) {
      if (this._stopped) return;
      this._observer.list(target.id, 'error', 0);
      // An expired continue token: start the whole list again, as client-go's pager falls back.
      if (err instanceof KubeApiError && err.status === 410 && continued) throw new ContinueExpiredError(err);
      throw err;
    }
    this._finishSync(listed, resourceVersion);
  }

  /** Ends an initial sync: the sink deletes the objects it did not contain. */
  private _finishSync(listed: number, resourceVersion: string): void {
    this._safe(() => this._sink.endSync(this._o.target.id));
    this._resourceVersion = resourceVersion;
    this._observer.list(this._o.target.id, 'success', listed);
    this._synced = true;
    this._presumedDead = undefined;
    this._resolveFirstSync(true);
    this._needSync = false;
    this._lastSyncAt = this._clock.now();
    this._backoff.reset();
  }

  /**
   * A streaming list: the initial ADDED events, then the end bookmark (where vanished objects are
   * deleted and the collection counts as synced); the stream is closed there, and a plain watch
   * with a short timeout goes on from the bookmark's resourceVersion. When the server refuses
   * streaming lists, paginated lists are used from then on.
   */
  private async _watchList(): Promise<void> {
    let ended = false;
    this._safe(() => this._sink.beginSync(this._o.target.id));
    try {
      await this._watch({ initialEvents: { listed: 0 }, onInitialEventsEnd: () => (ended = true) });
    } catch (err) {
      if (ended || this._stopped) throw err;
      this._observer.list(this._o.target.id, 'error', 0);
      if (!refusesWatchList(err)) throw err;
      this._watchListRefused = true;
      this._o.logger.info(
        { target: this._o.target.id, err: errorText(err) },
        'the API server refused a streaming list; using paginated lists',
      );
      return;
    }
    if (!ended && !this._stopped) {
      // The stream ended before its initial events did (the server timed it out, or ignores
      // sendInitialEvents): not synced; try again, like any short watch.
      this._o.logger.info({ target: this._o.target.id }, 'streaming list ended before its initial events');
      await this._shortWatchPause();
    }
  }

  /**
   * Watches until the server ends the stream or an error; returns true when it ended early (well
   * before its timeout) with nothing delivered. With `initialEvents`, it is a streaming list: keys
   * are collected until the end bookmark, where the stream is closed.
   */
  private async _watch(sync: {
    /** A streaming list: its initial events are counted here until the end bookmark. */
    initialEvents?: { listed: number };
    onInitialEventsEnd?: () => void;
  }): Promise<boolean> {
    const { target } = this._o;
    const initial = sync.initialEvents;
    const minSeconds = this._o.minWatchTimeoutSeconds ?? 20;
    const timeoutSeconds = initial
      ? STREAMING_LIST_TIMEOUT_SECONDS
      : Math.floor(minSeconds * (1 + this._clock.random()));
    const graceMs = (this._o.watchGraceSeconds ?? 10) * 1000;
    const started = this._clock.now();
    const watchAbort = new AbortController();
    this._watchAbort = watchAbort;
    const onStop = () => watchAbort.abort();
    this._abort.signal.addEventListener('abort', onStop, { once: true });
    // When the watch must have shown life by: the server ends a plain watch at timeoutSeconds (a
    // stream still being read past that has the grace from its last event); a streaming list sends
    // its initial events without pause, so silence as long as a whole watch means a dead
    // connection. The same holds before the response headers: a proxy may hold them until the
    // first bytes of the body, so an unanswered request is no sooner presumed dead. Events only
    // note the time; the timer, when it fires, waits out the rest (re-arming a timer per event
    // costs a visible share of an initial sync's CPU: docs/benchmarks.md).
    let lastHeard = started;
    let established = false;
    const dueAt = () =>
      initial
        ? lastHeard + 2 * minSeconds * 1000 + graceMs
        : Math.max(started + timeoutSeconds * 1000, lastHeard) + graceMs;
    let deadline: unknown;
    let presumedDead = false;
    const arm = () => {
      deadline = this._clock.setTimeout(
        () => {
          const now = this._clock.now();
          if (now < dueAt()) {
            arm();
            return;
          }
          presumedDead = true;
          const silentMs = now - lastHeard;
          const seconds = Math.round(silentMs / 1000);
          this._presumedDead = !established
            ? `watch request unanswered for ${seconds} s; presumed dead, reconnecting`
            : initial
              ? `streaming list silent for ${seconds} s; presumed dead, reconnecting`
              : `watch silent for ${seconds} s, not ended by the server at its ${timeoutSeconds} s timeout; presumed dead, reconnecting`;
          watchAbort.abort(idleError(silentMs, this._presumedDead));
        },
        Math.max(0, dueAt() - this._clock.now()),
      );
    };
    arm();
    let events = 0;
    try {
      const stream = await this._lw.watch(
        {
          resourceVersion: this._resourceVersion,
          timeoutSeconds,
          sendInitialEvents: initial !== undefined,
        },
        watchAbort.signal,
      );
      // The server answered: the connection carries traffic again.
      established = true;
      this._presumedDead = undefined;
      lastHeard = this._clock.now();
      // Counted when established, as kube-state-metrics' watch_total does; a later failure of the
      // stream counts an error too.
      this._observer.watch(target.id, 'success');
      if (!initial) this._backoff.reset();
      const slicer = new Slicer({ sliceMs: this._o.sliceMs, clock: this._clock });
      for await (const event of stream) {
        if (this._stopped || presumedDead || this._relistRequested) break;
        lastHeard = this._clock.now();
        events++;
        if (initial && event.type === 'BOOKMARK' && isInitialEventsEnd(event.object)) {
          this._lastEventAt = this._clock.now();
          this._observer.event(target.id, event.type);
          this._finishSync(initial.listed, event.object.metadata?.resourceVersion ?? this._resourceVersion);
          this._state = 'watching';
          sync.onInitialEventsEnd?.();
          // Closed here (the finally block aborts the request): the plain watch that follows has
          // a short timeout, which the streaming list's could not have.
          return false;
        }
        const busy = this._handleEvent(event, initial);
        if (busy) await busy;
        const turn = slicer.turn();
        if (turn) await turn;
      }
      if (this._relistRequested) return false;
      if (presumedDead && !this._stopped) throw idleError(this._clock.now() - lastHeard, this._presumedDead);
      const endedEarly = events === 0 && this._clock.now() - started < (timeoutSeconds * 1000) / 2;
      if (!endedEarly) this._lastEndAt = this._clock.now();
      return endedEarly;
    } catch (err) {
      if (this._stopped || this._relistRequested) return false;
      this._observer.watch(target.id, 'error');
      if (presumedDead) throw idleError(this._clock.now() - lastHeard, this._presumedDead);
      throw err;
    } finally {
      this._clock.clearTimeout(deadline);
      this._abort.signal.removeEventListener('abort', onStop);
      watchAbort.abort();
      if (this._watchAbort === watchAbort) this._watchAbort = undefined;
      this._relistRequested = false;
    }
  }

  /** Returns the sink's promise when it asks to be waited for. */
  private _handleEvent(
    event: WatchEvent,
    initial: { listed: number } | undefined,
  ): PromiseLike<unknown> | undefined {
    const { target } = this._o;
    const object = event.object;
    const type = event.type;
    let pending: PromiseLike<unknown> | undefined;
    this._lastEventAt = this._clock.now();
    this._observer.event(target.id, type);
    if (type === 'ERROR') {
      const status = object as { code?: number; message?: string; reason?: string };
      throw new KubeApiError(status.code ?? 500, status.message ?? 'watch error', status.reason);
    }
    if (type === 'ADDED' || type === 'MODIFIED') {
      if (initial) initial.listed++;
      pending = this._upsert(object);
    } else if (type === 'DELETED') {
      this._safe(() => this._sink.delete(target.id, objectKey(target.id, object)));
    }
    // BOOKMARK carries only a resourceVersion; every event type advances it, even if a handler
    // threw. During a streaming list it is only kept for the end bookmark's.
    const rv = object.metadata?.resourceVersion;
    if (rv && !initial) this._resourceVersion = rv;
    return pending;
  }

  private _upsert(object: KubeObject): PromiseLike<unknown> | undefined {
    const id = this._o.target.id;
    return this._safe(() => pendingWork(this._sink.upsert(id, objectKey(id, object), object)));
  }

  private _safe(fn: () => unknown): PromiseLike<unknown> | undefined {
    try {
      return pendingWork(fn());
    } catch (err) {
      this._observer.handlerError(this._o.target.id);
      this._o.logger.error({ target: this._o.target.id, err }, 'object handler failed; the watch goes on');
      return undefined;
    }
  }
}

/** The error of a watch presumed dead, saying why (the log line and /readyz then agree). */
function idleError(silentMs: number, why: string | undefined): WatchIdleError {
  const err = new WatchIdleError(silentMs);
  if (why) err.message = why;
  return err;
}

function isInitialEventsEnd(object: KubeObject): boolean {
  return object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true';
}

/**
 * The server does not do streaming lists: the WatchList feature is off (422 Invalid, "forbidden
 * ... unless the WatchList feature gate is enabled") or the parameter is unknown (400).
 */
function refusesWatchList(err: unknown): boolean {
  return err instanceof KubeApiError && (err.status === 400 || err.status === 422 || err.status === 501);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}
