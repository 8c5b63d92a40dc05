// Objects are whatever the API server (or a file) holds: any JSON. The built-in rules must give
// a verdict for each without throwing, and their work must stay proportional to the object's
// size. Time is compared with a floor measured in the same run (serialising the same object),
// not with a fixed budget: a rule that went quadratic on a long list would be thousands of
// times the floor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInHealthRules } from '../../../src/engine/health/builtInRules.ts';
import { HEALTH_STATES } from '../../../src/engine/health/HealthVerdict.ts';
import { GoFloat64 } from '../../../src/go/GoFloat64.ts';

const rules = builtInHealthRules();
/** Kinds whose chains hold the most rules, and a kind only the generic rules know. */
const KINDS: [string, string][] = [
  ['bench.example.com', 'Foo'],
  ['cert-manager.io', 'Certificate'],
  ['gateway.networking.k8s.io', 'HTTPRoute'],
  ['argoproj.io', 'Rollout'],
  ['s3.aws.upbound.io', 'Bucket'],
];

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++)
    value = { status: value, phase: value === leaf ? 'x' : undefined, conditions: [value] };
  return value;
}

const hostile: [string, unknown][] = [
  ['status is a string', { status: 'Ready' }],
  ['status is a list', { status: [{ type: 'Ready', status: 'True' }] }],
  ['conditions is a mapping', { status: { conditions: { type: 'Ready', status: 'True' } } }],
  [
    'conditions of wrong types',
    { status: { conditions: [null, 1, 'Ready', [], { type: 7, status: true }, { type: 'Ready' }] } },
  ],
  [
    'condition fields of wrong types',
    { status: { conditions: [{ type: 'Ready', status: { deep: 1 }, reason: 5, message: [] }] } },
  ],
  ['phase is a mapping', { status: { phase: { Running: true }, state: ['x'], health: 1 } }],
  [
    'generation as floats and strings',
    { metadata: { generation: new GoFloat64(2) }, status: { observedGeneration: '1' } },
  ],
  ['metadata is null', { metadata: null, spec: null, status: null }],
  [
    'prototype-looking keys',
    JSON.parse(
      '{"__proto__": {"status": 1}, "constructor": 1, "status": {"__proto__": [], "conditions": [{"__proto__": {}, "type": "Ready", "status": "True"}]}}',
    ),
  ],
  ['deep nesting', nested(20_000, { type: 'Ready', status: 'False' })],
  [
    'a very long reason and message',
    {
      status: {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'a'.repeat(5_000_000), message: 'b\n'.repeat(1_000_000) },
        ],
      },
    },
  ],
];

function hugeConditions(n: number): unknown {
  const conditions: object[] = [];
  for (let i = 0; i < n; i++)
    conditions.push({
      type: `Cond${i}`,
      status: i % 2 ? 'True' : 'False',
      reason: `Reason${i}`,
      message: 'm',
    });
  return {
    metadata: { generation: 1 },
    status: {
      observedGeneration: 1,
      conditions,
      parents: Array.from({ length: 2000 }, (_, i) => ({
        parentRef: { name: `gw${i}` },
        conditions: conditions.slice(0, 50),
      })),
      phase: 'Weird',
    },
  };
}

describe('hostile objects', () => {
  it('get a verdict from every chain, never an exception', () => {
    for (const [what, object] of hostile) {
      for (const [group, kind] of KINDS) {
        const v = rules.verdict(object, group, kind);
        assert.ok(HEALTH_STATES.includes(v.state), `${what} (${group}/${kind}): ${v.state}`);
        assert.ok(v.reason.length <= 200, `${what}: reason of ${v.reason.length} characters`);
      }
    }
  });

  it('a deep object and a list of 200k conditions cost time proportional to their size', () => {
    const big = hugeConditions(200_000);
    const floorStart = process.hrtime.bigint();
    const text = JSON.stringify(big);
    const floor = Number(process.hrtime.bigint() - floorStart);
    assert.ok(text.length > 10_000_000);
    for (const [group, kind] of KINDS) {
      const start = process.hrtime.bigint();
      const v = rules.verdict(big, group, kind);
      const took = Number(process.hrtime.bigint() - start);
      assert.ok(HEALTH_STATES.includes(v.state));
      // Every rule of a chain may scan the list once (a few dozen rules), each scan converting
      // entries to CEL values: linear, within a few hundred times one serialisation.
      assert.ok(
        took < floor * 400,
        `${group}/${kind}: ${(took / 1e6).toFixed(0)} ms, floor ${(floor / 1e6).toFixed(0)} ms`,
      );
    }
  });
});
