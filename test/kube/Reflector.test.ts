import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { KubeApiError } from '../../src/kube/errors.ts';
import { Reflector } from '../../src/kube/Reflector.ts';
import type { InitialSyncMode } from '../../src/kube/Reflector.ts';
import type { KubeObject } from '../../src/kube/KubeObject.ts';
import { CallbackSink } from '../../src/sources/CallbackSink.ts';
import { bookmark, FakeClock, FakeListerWatcher, obj, page, settle } from './fakes.ts';

const TARGET = { id: 'example.com/v1/foos', path: '/apis/example.com/v1/foos' };
// With the fake clock's random() = 0.5, every watch asks the server to end it after 30 s, and is
// presumed dead if it has not ended 10 s after that.
const WATCH_TIMEOUT_S = 30;
const DEAD_AFTER_MS = (WATCH_TIMEOUT_S + 10) * 1000;

interface Harness {
  reflector: Reflector;
  lw: FakeListerWatcher;
  clock: FakeClock;
  /** What the handler holds: key → resourceVersion. */
  store: Map<string, string>;
  restarts: string[];
  lists: string[];
  events: string[];
}

const running: Reflector[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

function start(lw: FakeListerWatcher, initialSync: InitialSyncMode = 'list', throwOn?: string): Harness {
  const clock = new FakeClock();
  const store = new Map<string, string>();
  const restarts: string[] = [];
  const lists: string[] = [];
  const events: string[] = [];
  const reflector = new Reflector({
    listerWatcher: lw,
    target: TARGET,
    clock,
    initialSync,
    logger: pino({ level: 'silent' }),
    sink: new CallbackSink({
      upsert: (key, object) => {
        const o = object as KubeObject;
        if (o.metadata?.name === throwOn) throw new Error('hostile handler');
        store.set(key, o.metadata?.resourceVersion ?? '');
      },
      delete: (key) => store.delete(key),
    }),
    observer: {
      list: (_t, result, n) => lists.push(`${result}:${n}`),
      watch: () => {},
      event: (_t, type) => events.push(type),
      restart: (_t, reason) => restarts.push(reason),
      handlerError: () => events.push('handler-error'),
    },
  });
  running.push(reflector);
  reflector.start();
  return { reflector, lw, clock, store, restarts, lists, events };
}

const names = (store: Map<string, string>) => [...store.keys()].map((k) => k.split('/').pop()).sort();

describe('Reflector (fake lister-watcher, fake clock)', () => {
  it('lists page by page, asking for the next page before handling the current one, then watches from the list RV', async () => {
    let secondAskedBeforeFirstHandled = false;
    const lw = new FakeListerWatcher().onList(
      () => page([obj('a'), obj('b')], '10', 'c1'),
      () => page([obj('c')], '10'),
    );
    const h = start(lw);
    await settle();
    secondAskedBeforeFirstHandled = lw.lists.length === 2;
    assert.equal(secondAskedBeforeFirstHandled, true);
    assert.deepEqual(
      lw.lists.map((r) => [r.limit, r.continue]),
      [
        [500, undefined],
        [500, 'c1'],
      ],
    );
    assert.deepEqual(names(h.store), ['a', 'b', 'c']);
    assert.equal(h.reflector.synced, true);
    assert.deepEqual(h.lists, ['success:3']);
    assert.equal(lw.watches.length, 1);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
    assert.equal(lw.lastWatch.request.timeoutSeconds, WATCH_TIMEOUT_S);
    assert.equal(h.reflector.state, 'watching');
  });

  it('410 Gone on the watch: relists at once with a consistent read and deletes what vanished in the gap', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a'), obj('b'), obj('c')], '10'));
    const h = start(lw);
    await settle();
    lw.lastWatch.push('MODIFIED', obj('a', '11'));
    await settle();
    assert.equal(h.reflector.resourceVersion, '11');
    // b was deleted and d created while the watch history was compacted away.
    lw.onList(() => page([obj('a', '11'), obj('c'), obj('d', '30')], '30'));
    lw.lastWatch.push('ERROR', {
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    });
    await settle();
    assert.deepEqual(h.restarts, ['expired']);
    assert.equal(lw.lists.length, 2, 'relisted without waiting for the clock');
    assert.equal(lw.lists[1]!.resourceVersion, undefined, 'a consistent read, not the expired RV');
    assert.deepEqual(names(h.store), ['a', 'c', 'd']);
    assert.equal(lw.lastWatch.request.resourceVersion, '30');
  });

  it('410 as an HTTP status of the watch request is handled the same way', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    lw.onWatch(() => {
      throw new KubeApiError(410, 'Gone', 'Expired');
    });
    const h = start(lw);
    await settle();
    assert.deepEqual(h.restarts, ['expired']);
    assert.equal(lw.lists.length, 2);
  });

  it('an expired continue token restarts the list from the first page (not a 500)', async () => {
    const lw = new FakeListerWatcher().onList(
      () => page([obj('a')], '10', 'c1'),
      () => {
        throw new KubeApiError(410, 'The provided continue parameter is too old', 'Expired');
      },
      () => page([obj('a'), obj('b')], '12', 'c2'),
      () => page([obj('c')], '12'),
    );
    const h = start(lw);
    await settle();
    assert.deepEqual(h.restarts, ['continue-expired']);
    assert.deepEqual(
      lw.lists.map((r) => r.continue),
      [undefined, 'c1', undefined, 'c2'],
    );
    assert.deepEqual(h.lists, ['error:0', 'success:3']);
    assert.deepEqual(names(h.store), ['a', 'b', 'c']);
    assert.equal(lw.lastWatch.request.resourceVersion, '12');
  });

  it('bookmarks advance the resourceVersion the next watch resumes from, without touching objects', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    lw.lastWatch.push('BOOKMARK', bookmark('55'));
    await settle();
    assert.equal(h.reflector.resourceVersion, '55');
    assert.deepEqual(names(h.store), ['a']);
    lw.lastWatch.end();
    await settle();
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.resourceVersion, '55');
    assert.equal(lw.lists.length, 1, 'a watch that ends normally is resumed, not relisted');
    assert.deepEqual(h.restarts, []);
  });

  it('a watch the server ends at its timeout is resumed at once from the last resourceVersion, never presumed dead', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    for (let i = 0; i < 5; i++) {
      await h.clock.advance(WATCH_TIMEOUT_S * 1000);
      lw.lastWatch.end();
      await settle();
    }
    assert.equal(lw.watches.length, 6, 'each idle watch ended by the server is followed at once by the next');
    assert.equal(h.reflector.lastActivityAt, h.clock.now(), 'a watch ended by the server is a sign of life');
    assert.ok(lw.watches.every((w) => w.request.resourceVersion === '10'));
    assert.deepEqual(h.restarts, []);
    assert.equal(h.reflector.presumedDead, undefined);
  });

  it('a watch the server has not ended 10 s after its timeout is presumed dead: abandoned, not ready, resumed from the same resourceVersion', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    const first = lw.lastWatch;
    await h.clock.advance(DEAD_AFTER_MS - 1000);
    assert.equal(first.aborted, false, 'not dead before its timeout plus the grace');
    assert.equal(h.reflector.presumedDead, undefined);
    await h.clock.advance(1000);
    assert.equal(first.aborted, true);
    assert.deepEqual(h.restarts, ['idle']);
    assert.match(
      h.reflector.presumedDead ?? '',
      /^watch silent for 40 s, not ended by the server at its 30 s timeout; presumed dead, reconnecting$/,
    );
    assert.equal(h.reflector.synced, true, 'its objects stay served');
    await h.clock.advance(1300); // the backoff: 800 ms × (1 + 0.5)
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
    assert.equal(lw.lists.length, 1);
    assert.equal(h.reflector.presumedDead, undefined, 'ready again once a new watch is established');
  });

  it('a watch lost behind a dead proxy is found within 50 s and replaced; its missed events then arrive', async () => {
    // The worst case: the connection goes dead right after the watch began, with the longest
    // timeout (random() = 0.999 gives 39 s).
    const lw = new FakeListerWatcher().onList(() => page([obj('a'), obj('b')], '10'));
    const h = start(lw);
    h.clock.random = () => 0.999;
    await settle();
    const dead = lw.lastWatch;
    assert.equal(dead.request.timeoutSeconds, 39);
    await h.clock.advance(48_900);
    assert.equal(dead.aborted, false);
    await h.clock.advance(100);
    assert.equal(dead.aborted, true, 'presumed dead 49 s after it began');
    await h.clock.advance(1_600); // the backoff: 800 ms × (1 + 0.999)
    assert.equal(lw.watches.length, 2, 'watched again within 51 s');
    lw.lastWatch.push('DELETED', obj('b', '15'));
    await settle();
    assert.deepEqual(names(h.store), ['a']);
  });

  it('a stream still being read past its timeout has the grace from its last event', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    await h.clock.advance(DEAD_AFTER_MS - 2000);
    lw.lastWatch.push('BOOKMARK', bookmark('11'));
    await h.clock.advance(9000);
    assert.equal(lw.lastWatch.aborted, false);
    assert.deepEqual(h.restarts, []);
    await h.clock.advance(1000);
    assert.equal(lw.lastWatch.aborted, true);
    assert.deepEqual(h.restarts, ['idle']);
  });

  it('a re-watch that gets no answer is given up at the same deadline; the target stays presumed dead until one is established', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    lw.onWatch(
      () => 'hang',
      () => 'hang',
    );
    await h.clock.advance(DEAD_AFTER_MS);
    assert.deepEqual(h.restarts, ['idle']);
    await h.clock.advance(1300);
    assert.equal(lw.watches.length, 2, 'the re-watch is sent');
    assert.notEqual(h.reflector.presumedDead, undefined, 'and gets no answer');
    await h.clock.advance(DEAD_AFTER_MS - 200); // it was sent after 1200 ms of backoff
    assert.deepEqual(h.restarts, ['idle']);
    await h.clock.advance(200);
    assert.deepEqual(h.restarts, ['idle', 'idle']);
    assert.equal(h.reflector.presumedDead, 'watch request unanswered for 40 s; presumed dead, reconnecting');
    await h.clock.advance(2_500); // backoff 1600 ms × 1.5, then a third watch, which hangs too
    assert.equal(lw.watches.length, 3);
    await h.clock.advance(DEAD_AFTER_MS + 5_000); // given up; after 3200 ms × 1.5 the fourth is answered
    assert.equal(lw.watches.length, 4);
    assert.equal(h.reflector.presumedDead, undefined);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
  });

  it('a watch cut early with nothing delivered backs off before the next one', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    await h.clock.advance(1000);
    lw.lastWatch.end();
    await settle();
    assert.equal(lw.watches.length, 1, 'no watch before the backoff');
    await h.clock.advance(1300);
    assert.equal(lw.watches.length, 2);
  });

  it('429 waits at least Retry-After, then resumes the watch from the same resourceVersion', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    lw.onWatch(() => {
      throw new KubeApiError(429, 'Too many requests', 'TooManyRequests', 7);
    });
    const h = start(lw);
    await settle();
    assert.deepEqual(h.restarts, ['throttled']);
    assert.equal(h.reflector.state, 'backoff');
    await h.clock.advance(6900);
    assert.equal(lw.watches.length, 1, 'no retry before Retry-After');
    await h.clock.advance(200);
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
    assert.equal(lw.lists.length, 1);
  });

  it('401 re-reads the credentials, then retries with backoff without relisting', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    lw.onWatch(() => {
      throw new KubeApiError(401, 'Unauthorized', 'Unauthorized');
    });
    const h = start(lw);
    await settle();
    assert.deepEqual(h.restarts, ['unauthorized']);
    assert.equal(lw.refreshes, 1);
    await h.clock.advance(1300);
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
    assert.equal(lw.lists.length, 1);
    assert.deepEqual(names(h.store), ['a']);
  });

  it('403 retries slowly (not before 10 s), reports the forbidden state, and recovers', async () => {
    const lw = new FakeListerWatcher().onList(
      () => {
        throw new KubeApiError(403, 'foos is forbidden', 'Forbidden');
      },
      () => {
        throw new KubeApiError(403, 'foos is forbidden', 'Forbidden');
      },
      () => page([obj('a')], '10'),
    );
    const h = start(lw);
    await settle();
    assert.equal(h.reflector.state, 'forbidden');
    assert.equal(h.reflector.synced, false);
    await h.clock.advance(9900);
    assert.equal(lw.lists.length, 1);
    await h.clock.advance(200);
    assert.equal(lw.lists.length, 2);
    assert.deepEqual(h.restarts, ['forbidden', 'forbidden']);
    await h.clock.advance(10_100);
    assert.equal(lw.lists.length, 3);
    assert.equal(h.reflector.synced, true);
    assert.equal(h.reflector.state, 'watching');
  });

  it('a network error keeps the resourceVersion: the retry is a watch, not a list', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    lw.lastWatch.push('MODIFIED', obj('a', '12'));
    await settle();
    lw.lastWatch.fail(Object.assign(new TypeError('terminated'), { cause: { code: 'UND_ERR_SOCKET' } }));
    await settle();
    assert.deepEqual(h.restarts, ['network']);
    assert.equal(h.reflector.state, 'backoff');
    await h.clock.advance(1300);
    assert.equal(lw.lastWatch.request.resourceVersion, '12');
    assert.equal(lw.lists.length, 1);
  });

  it('a network error before the first list completes retries the list with growing backoff', async () => {
    const refused = () => {
      throw new TypeError('fetch failed');
    };
    const lw = new FakeListerWatcher().onList(refused, refused, () => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    await h.clock.advance(1300); // 800 × 1.5
    assert.equal(lw.lists.length, 2);
    await h.clock.advance(2200);
    assert.equal(lw.lists.length, 2, 'the second delay is longer: 1600 × 1.5');
    await h.clock.advance(200);
    assert.equal(lw.lists.length, 3);
    assert.equal(h.reflector.synced, true);
  });

  it('"too large resource version" relists after a backoff', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    lw.onWatch(() => {
      throw new KubeApiError(504, 'Too large resource version: 10, current: 9', 'Timeout');
    });
    const h = start(lw);
    await settle();
    assert.deepEqual(h.restarts, ['too-large-rv']);
    await h.clock.advance(1300);
    assert.equal(lw.lists.length, 2);
    assert.equal(lw.lists[1]!.resourceVersion, undefined);
  });

  it('a throwing handler is counted; the object after it and the resourceVersion still advance', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw, 'list', 'bad');
    await settle();
    lw.lastWatch.push('ADDED', obj('bad', '11')).push('ADDED', obj('b', '12'));
    await settle();
    assert.ok(h.events.includes('handler-error'));
    assert.deepEqual(names(h.store), ['a', 'b']);
    assert.equal(h.reflector.resourceVersion, '12');
  });

  it('stop really stops: during a backoff, no timer is left and nothing is retried', async () => {
    const lw = new FakeListerWatcher().onList(() => {
      throw new TypeError('fetch failed');
    });
    const h = start(lw);
    await settle();
    assert.equal(h.clock.pendingTimers, 1, 'the backoff sleep');
    await h.reflector.stop();
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.reflector.state, 'stopped');
    await h.clock.advance(3_600_000);
    assert.equal(lw.lists.length, 1);
  });

  it('stop really stops: a watch is aborted, its idle timer cleared, later events are not delivered', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    const h = start(lw);
    await settle();
    const watch = lw.lastWatch;
    assert.equal(h.clock.pendingTimers, 1, 'the idle timer');
    await h.reflector.stop();
    assert.equal(watch.aborted, true);
    assert.equal(h.clock.pendingTimers, 0);
    watch.push('ADDED', obj('late', '20'));
    await h.clock.advance(3_600_000);
    assert.deepEqual(names(h.store), ['a']);
    assert.equal(lw.watches.length, 1);
    assert.deepEqual(h.restarts, []);
  });

  it('requestRelist ends the watch without an error, lists again, and at most once a minute', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a'), obj('b')], '10'));
    const h = start(lw);
    await settle();
    const watch = lw.lastWatch;
    lw.onList(() => page([obj('a', '12'), obj('b', '12')], '12'));
    h.reflector.requestRelist();
    await settle();
    assert.equal(watch.aborted, true);
    assert.equal(lw.lists.length, 2, 'listed again at once');
    assert.deepEqual(h.lists, ['success:2', 'success:2']);
    assert.deepEqual(h.restarts, [], 'not a failure');
    assert.deepEqual([...h.store.values()], ['12', '12'], 'every object delivered again');
    assert.equal(lw.lastWatch.request.resourceVersion, '12');
    h.reflector.requestRelist();
    await settle();
    assert.equal(lw.lists.length, 2, 'a second request within a minute is ignored');
    await h.clock.advance(60_000);
    h.reflector.requestRelist();
    await settle();
    assert.equal(lw.lists.length, 3);
  });

  it('stopAndDropObjects deletes everything it delivered (the CRD went away)', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a'), obj('b')], '10'));
    const h = start(lw);
    await settle();
    await h.reflector.stopAndDropObjects();
    assert.equal(h.store.size, 0);
    assert.equal(h.reflector.objectCount, 0);
  });
});

describe('Reflector streaming list (watch-list)', () => {
  it('syncs from the initial events and the end bookmark, then closes the stream and watches from its resourceVersion with a short timeout', async () => {
    const lw = new FakeListerWatcher();
    const h = start(lw, 'watch-list');
    await settle();
    assert.equal(lw.lists.length, 0);
    const stream = lw.lastWatch;
    assert.equal(stream.request.sendInitialEvents, true);
    assert.equal(stream.request.resourceVersion, '');
    stream.push('ADDED', obj('a', '5')).push('ADDED', obj('b', '7'));
    await settle();
    assert.equal(h.reflector.synced, false, 'not synced before the end bookmark');
    assert.equal(h.reflector.state, 'listing');
    stream.push('BOOKMARK', bookmark('9', true));
    await settle();
    assert.equal(h.reflector.synced, true);
    assert.equal(h.reflector.state, 'watching');
    assert.equal(h.reflector.resourceVersion, '9');
    assert.deepEqual(h.lists, ['success:2']);
    assert.equal(stream.aborted, true, 'the streaming list is closed at its end bookmark');
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.sendInitialEvents, false, 'followed by a plain watch');
    assert.equal(lw.lastWatch.request.resourceVersion, '9');
    assert.equal(lw.lastWatch.request.timeoutSeconds, WATCH_TIMEOUT_S);
    assert.equal(stream.request.timeoutSeconds, 600, 'a whole collection must fit in a streaming list');
    lw.lastWatch.push('MODIFIED', obj('a', '12')).push('DELETED', obj('b', '13'));
    await settle();
    assert.deepEqual(
      [...h.store.entries()].map(([k, v]) => `${k.split('/').pop()}=${v}`),
      ['a=12'],
    );
    lw.lastWatch.end();
    await settle();
    assert.equal(lw.lastWatch.request.sendInitialEvents, false);
    assert.equal(lw.lastWatch.request.resourceVersion, '13');
  });

  it('a streaming list silent for 50 s is presumed dead and started again', async () => {
    const lw = new FakeListerWatcher();
    const h = start(lw, 'watch-list');
    await settle();
    lw.lastWatch.push('ADDED', obj('a', '5'));
    await h.clock.advance(49_000);
    assert.deepEqual(h.restarts, []);
    await h.clock.advance(1_000);
    assert.deepEqual(h.restarts, ['idle']);
    assert.match(h.reflector.presumedDead ?? '', /^streaming list silent for 50 s; presumed dead/);
    await h.clock.advance(1_300);
    assert.equal(lw.lastWatch.request.sendInitialEvents, true, 'a streaming list again: it never synced');
  });

  it('410 on the watch relists by streaming list and deletes objects not in the new initial events', async () => {
    const lw = new FakeListerWatcher();
    const h = start(lw, 'watch-list');
    await settle();
    lw.lastWatch.push('ADDED', obj('a')).push('ADDED', obj('b')).push('BOOKMARK', bookmark('9', true));
    await settle();
    lw.lastWatch.push('ERROR', { code: 410, reason: 'Expired', message: 'too old' });
    await settle();
    assert.deepEqual(h.restarts, ['expired']);
    const relist = lw.lastWatch;
    assert.equal(relist.request.sendInitialEvents, true);
    assert.equal(relist.request.resourceVersion, '');
    relist.push('ADDED', obj('b', '20')).push('ADDED', obj('c', '21'));
    await settle();
    assert.deepEqual(names(h.store), ['a', 'b', 'c'], 'nothing deleted before the end bookmark');
    relist.push('BOOKMARK', bookmark('22', true));
    await settle();
    assert.deepEqual(names(h.store), ['b', 'c']);
  });

  it('falls back to paginated lists for good when the server refuses streaming lists', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a')], '10'));
    lw.onWatch(() => {
      throw new KubeApiError(
        422,
        'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
        'Invalid',
      );
    });
    const h = start(lw, 'watch-list');
    await settle();
    assert.equal(h.reflector.usesWatchList, false);
    assert.equal(lw.lists.length, 1);
    assert.equal(h.reflector.synced, true);
    assert.equal(lw.lastWatch.request.sendInitialEvents, false);
    assert.equal(lw.lastWatch.request.resourceVersion, '10');
    assert.deepEqual(h.restarts, [], 'a refusal is not a fault');
    lw.onList(() => page([obj('b')], '30'));
    lw.lastWatch.push('ERROR', { code: 410, reason: 'Expired', message: 'too old' });
    await settle();
    assert.equal(lw.lists.length, 2, 'the relist is a list too');
    assert.deepEqual(names(h.store), ['b']);
  });

  it('a stream that ends before its initial events did is not a sync: it is retried after a backoff', async () => {
    const lw = new FakeListerWatcher();
    const h = start(lw, 'watch-list');
    await settle();
    lw.lastWatch.push('ADDED', obj('a'));
    lw.lastWatch.end();
    await settle();
    assert.equal(h.reflector.synced, false);
    assert.equal(lw.watches.length, 1);
    await h.clock.advance(1300);
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.lastWatch.request.sendInitialEvents, true);
  });

  it('a network error after the sync resumes a plain watch from the last resourceVersion', async () => {
    const lw = new FakeListerWatcher();
    const h = start(lw, 'watch-list');
    await settle();
    lw.lastWatch.push('ADDED', obj('a')).push('BOOKMARK', bookmark('9', true));
    await settle();
    lw.lastWatch.push('MODIFIED', obj('a', '11'));
    await settle();
    lw.lastWatch.fail(new TypeError('terminated'));
    await settle();
    await h.clock.advance(1300);
    assert.equal(lw.watches.length, 3);
    assert.equal(lw.lastWatch.request.sendInitialEvents, false);
    assert.equal(lw.lastWatch.request.resourceVersion, '11');
  });
});

describe('Reflector backpressure (a handler still working on a large object)', () => {
  it('waits for an upsert that returns a promise before handling the next object, in lists and watches', async () => {
    const lw = new FakeListerWatcher().onList(() => page([obj('a'), obj('b')], '10'));
    const handled: string[] = [];
    const waiting = new Map<string, () => void>();
    const reflector = new Reflector({
      listerWatcher: lw,
      target: TARGET,
      clock: new FakeClock(),
      initialSync: 'list',
      logger: pino({ level: 'silent' }),
      sink: new CallbackSink({
        upsert: (_key, object) => {
          const name = (object as KubeObject).metadata?.name ?? '';
          handled.push(name);
          // Objects named a and c are "large": the handler asks to be waited for.
          if (name !== 'a' && name !== 'c') return undefined;
          return new Promise<void>((resolve) => waiting.set(name, resolve));
        },
        delete: (key) => void handled.push(`-${key.split('/').pop()}`),
      }),
    });
    running.push(reflector);
    reflector.start();
    await settle();
    assert.deepEqual(handled, ['a'], 'b is not handed over while a is in progress');
    assert.equal(reflector.synced, false);
    waiting.get('a')!();
    await settle();
    assert.deepEqual(handled, ['a', 'b']);
    assert.equal(reflector.synced, true);
    lw.lastWatch.push('MODIFIED', obj('c', '11')).push('DELETED', obj('b', '12'));
    await settle();
    assert.deepEqual(handled, ['a', 'b', 'c'], 'the delete waits behind c');
    waiting.get('c')!();
    await settle();
    assert.deepEqual(handled, ['a', 'b', 'c', '-b']);
    assert.equal(reflector.resourceVersion, '12');
  });
});

describe('Reflector: a backlog does not hold the event loop', () => {
  const OBJECTS = 400;

  for (const mode of ['list', 'watch-list'] as const)
    it(`${mode}: a callback queued while ${OBJECTS} buffered objects are handled runs before the last one`, async () => {
      const lw = new FakeListerWatcher();
      const items = Array.from({ length: OBJECTS }, (_, i) => obj(`o${i}`, String(i + 1)));
      if (mode === 'list') lw.onList(() => page(items, '500'));
      else
        lw.onWatch((_request, stream) => {
          for (const item of items) stream.push('ADDED', item);
          stream.push('BOOKMARK', bookmark('500', true));
        });
      let handled = 0;
      let handledWhenProbeRan: number | undefined;
      // Every monotonic read moves 1 ms: a 10 ms slice is about ten objects, whatever the machine.
      const clock = new FakeClock();
      clock.monotonicStep = 1;
      const reflector = new Reflector({
        listerWatcher: lw,
        target: TARGET,
        clock,
        initialSync: mode,
        logger: pino({ level: 'silent' }),
        sliceMs: 10,
        sink: new CallbackSink({
          upsert: () => {
            // The first object: a probe or a scrape arrives while the rest wait in the buffer.
            // setImmediate, not a 1 ms timer: on a fast machine 400 objects take less than 1 ms,
            // so a timer could wait for the end even though the loop turned every slice.
            if (handled === 0) setImmediate(() => (handledWhenProbeRan ??= handled));
            handled++;
          },
          delete: () => {},
        }),
      });
      running.push(reflector);
      reflector.start();
      while (!reflector.synced) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(handled, OBJECTS);
      assert.ok(
        handledWhenProbeRan !== undefined && handledWhenProbeRan < OBJECTS / 2,
        `the callback ran after ${handledWhenProbeRan} of ${OBJECTS} objects`,
      );
    });
});
