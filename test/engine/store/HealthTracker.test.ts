import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthObservation, HealthState } from '../../../src/engine/generate/HealthJudge.ts';
import { HealthTracker } from '../../../src/engine/store/HealthTracker.ts';
import type { FamilyMeta } from '../../../src/model/FamilyMeta.ts';

const FAMILY: FamilyMeta = {
  index: 0,
  name: 'h_ts',
  type: 'gauge',
  help: '',
  health: { transitions: 'h_transitions', timeToHealthy: 'h_tth', buckets: [1, 10] },
};

function observe(state: HealthState, since?: number, createdAt = 1000): HealthObservation {
  return {
    state,
    since,
    createdAt,
    labels: [
      ['name', 'a'],
      ['namespace', 'ns'],
    ],
    counterLabels: [['namespace', 'ns']],
  };
}

function setup() {
  let now = 2000;
  const transitions: string[] = [];
  const times: number[] = [];
  const tracker = new HealthTracker(
    FAMILY,
    {
      transition: (_f, labels, from, to) =>
        transitions.push(`${labels.map(([k, v]) => `${k}=${v}`).join(',')} ${from}->${to}`),
      timeToHealthy: (_f, _labels, seconds) => times.push(seconds),
    },
    () => now,
  );
  const line = () => [...tracker.blocks()].map((b) => b.text.trim());
  return { tracker, transitions, times, line, at: (t: number) => (now = t) };
}

describe('HealthTracker', () => {
  it('counts transitions seen as events, times the first healthy one, and keeps when each state began', () => {
    const t = setup();
    t.tracker.update('k', observe('progressing'), true);
    assert.deepEqual(t.line(), ['h_ts{name="a",namespace="ns"} 2000'], 'first seen: now');
    t.at(2100);
    t.tracker.update('k', observe('progressing'), true);
    assert.deepEqual(t.line(), ['h_ts{name="a",namespace="ns"} 2000'], 'same state: unchanged');
    t.at(2200);
    t.tracker.update('k', observe('healthy'), true);
    t.at(2300);
    t.tracker.update('k', observe('progressing', 2250), true);
    t.tracker.update('k', observe('healthy', 2290), true);
    assert.deepEqual(t.transitions, [
      'namespace=ns progressing->healthy',
      'namespace=ns healthy->progressing',
      'namespace=ns progressing->healthy',
    ]);
    assert.deepEqual(t.times, [1200], 'only the first time to healthy, from the creation');
    assert.deepEqual(t.line(), ['h_ts{name="a",namespace="ns"} 2290'], "from the condition's time");
  });

  it('a listing sets states without counting; an object first seen healthy is not timed; a delete forgets', () => {
    const t = setup();
    t.tracker.update('k', observe('degraded'), false);
    t.tracker.update('k', observe('healthy'), false);
    assert.deepEqual(t.transitions, []);
    assert.deepEqual(t.times, []);
    t.tracker.update('j', observe('healthy'), true);
    t.tracker.update('j', observe('degraded'), true);
    t.tracker.update('j', observe('healthy'), true);
    assert.deepEqual(t.times, [], 'j was healthy when first seen');
    assert.equal(t.transitions.length, 2);
    t.tracker.update('k', undefined, true);
    assert.equal(t.tracker.size, 1);
  });
});
