import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArrivalForecast } from '../../src/runtime/ArrivalForecast.ts';

describe('ArrivalForecast', () => {
  it('predicts nothing for a requester seen once', () => {
    const f = new ArrivalForecast();
    f.arrived('prometheus', 1000);
    assert.equal(f.next(1000), undefined);
  });

  it('expects a requester one interval after its last arrival, then one interval later per miss', () => {
    const f = new ArrivalForecast({ maxMissed: 2 });
    f.arrived('prometheus', 0);
    f.arrived('prometheus', 5000);
    assert.equal(f.next(5000), 10_000);
    assert.equal(f.next(9999), 10_000);
    assert.equal(f.next(10_000), 15_000);
    assert.equal(f.next(15_000), 20_000);
    // Three predicted arrivals missed: taken for gone until it comes again.
    assert.equal(f.next(20_000), undefined);
    f.arrived('prometheus', 21_000);
    assert.equal(f.next(21_000), 37_000);
  });

  it('gives the earliest arrival of several requesters', () => {
    const f = new ArrivalForecast();
    f.arrived('a', 0);
    f.arrived('b', 2000);
    f.arrived('a', 15_000);
    f.arrived('b', 17_000);
    assert.equal(f.next(17_000), 30_000);
    assert.equal(f.next(30_000), 32_000);
    assert.equal(f.next(32_000), 45_000);
  });

  it('takes no period from an interval too long, too short or not positive', () => {
    const f = new ArrivalForecast({ maxIntervalMs: 60_000 });
    f.arrived('a', 0);
    f.arrived('a', 120_000);
    assert.equal(f.next(120_000), undefined);
    f.arrived('b', 1000);
    f.arrived('b', 1000);
    assert.equal(f.next(1000), undefined);
    // A client asking again as soon as it has its answer (a benchmark's loop) is no scraper.
    f.arrived('c', 2000);
    f.arrived('c', 2040);
    assert.equal(f.next(2040), undefined);
    f.arrived('c', 2290);
    assert.equal(f.next(2290), 2540, 'a 250 ms interval is a period');
  });

  it('forgets the requester heard from longest ago beyond maxRequesters', () => {
    const f = new ArrivalForecast({ maxRequesters: 2 });
    f.arrived('a', 0);
    f.arrived('a', 1000); // a: every second
    f.arrived('b', 1500);
    f.arrived('c', 1600); // a is forgotten
    f.arrived('b', 11_500);
    f.arrived('c', 11_600);
    assert.equal(f.next(11_600), 21_500);
    f.arrived('a', 11_700); // back, seen once again: no period yet (b is forgotten)
    assert.equal(f.next(11_700), 21_600);
  });
});
