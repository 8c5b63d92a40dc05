// The shipped generic rules (rules/health/generic.yaml) on kinds no built-in rule set knows.
// The kstatus cases follow kstatus' own table (cli-utils pkg/kstatus/status, TestCRDGenericStatus
// and generic.go), mapped Current → healthy, InProgress → progressing, Failed → degraded,
// Terminating → progressing; the objects are written here in the same shapes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInHealthRules } from '../../../src/engine/health/builtInRules.ts';
import type { HealthState } from '../../../src/engine/health/HealthVerdict.ts';

const rules = builtInHealthRules();
const GROUP = 'bench.example.com';
const KIND = 'Foo';

function foo(status?: unknown, extra: { metadata?: object; spec?: object } = {}): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: KIND,
    metadata: { name: 'test', namespace: 'qual', generation: 1, ...extra.metadata },
    ...(extra.spec ? { spec: extra.spec } : {}),
    ...(status === undefined ? {} : { status }),
  };
}

const cond = (type: string, status: string, reason = '', message = '') => ({
  type,
  status,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

function check(object: unknown, state: HealthState, rule: string) {
  const v = rules.verdict(object, GROUP, KIND);
  assert.equal(`${v.state} ${v.rule}`, `${state} generic#${rule}`, v.reason);
  return v;
}

describe('generic rules: the kstatus cases', () => {
  it('no status at all: Current', () => void check(foo(), 'healthy', 'current'));
  it('observedGeneration behind generation: InProgress', () => {
    const v = check(
      foo({ observedGeneration: 1 }, { metadata: { generation: 2 } }),
      'progressing',
      'generation',
    );
    assert.equal(v.reason, 'generation 2, observed 1');
  });
  it('Ready=True: Current', () =>
    void check(foo({ conditions: [cond('Ready', 'True', 'AllOk', 'All looks ok')] }), 'healthy', 'ready'));
  it('Ready=False: InProgress', () =>
    void check(
      foo({ observedGeneration: 1, conditions: [cond('Ready', 'False', 'NotReadyYet')] }),
      'progressing',
      'not-ready',
    ));
  it('Ready=Unknown: InProgress', () =>
    void check(foo({ conditions: [cond('Ready', 'Unknown')] }), 'progressing', 'not-ready'));
  it('no known condition: Current', () =>
    void check(foo({ conditions: [cond('SomeCondition', 'False')] }), 'healthy', 'current'));
  it('deletionTimestamp set: Terminating', () => {
    const v = check(
      foo(
        { conditions: [cond('Ready', 'True')] },
        { metadata: { deletionTimestamp: '2026-03-01T10:00:00Z' } },
      ),
      'progressing',
      'deleting',
    );
    assert.equal(v.reason, 'deletion in progress');
  });
  it('Stalled=True: Failed, even with Ready=True', () =>
    void check(
      foo({ conditions: [cond('Ready', 'True'), cond('Stalled', 'True', 'Timeout', 'gave up')] }),
      'degraded',
      'stalled',
    ));
  it('Reconciling=True: InProgress, even with Ready=True', () =>
    void check(
      foo({ conditions: [cond('Ready', 'True'), cond('Reconciling', 'True', 'Progressing')] }),
      'progressing',
      'reconciling',
    ));
  it('the generation check comes before the conditions', () =>
    void check(
      foo({ observedGeneration: 1, conditions: [cond('Stalled', 'True')] }, { metadata: { generation: 2 } }),
      'progressing',
      'generation',
    ));
  it('an observedGeneration that is not an integer is not compared (kstatus cannot read it either)', () =>
    void check(foo({ observedGeneration: 'abc', conditions: [cond('Ready', 'True')] }), 'healthy', 'ready'));
});

describe('generic rules: the issue scenario', () => {
  it('a Foo whose Ready goes False then True is progressing, then healthy, since each transition', () => {
    const notReady = rules.verdict(
      foo({
        conditions: [
          {
            ...cond('Ready', 'False', 'Waiting', 'waiting for pods'),
            lastTransitionTime: '2026-05-01T10:00:00Z',
          },
        ],
      }),
      GROUP,
      KIND,
    );
    assert.deepEqual(notReady, {
      state: 'progressing',
      reason: 'Ready=False: waiting for pods',
      condition: 'Ready',
      since: '2026-05-01T10:00:00Z',
      rule: 'generic#not-ready',
    });
    const isReady = rules.verdict(
      foo({
        conditions: [{ ...cond('Ready', 'True', 'Ready'), lastTransitionTime: '2026-05-01T10:02:00Z' }],
      }),
      GROUP,
      KIND,
    );
    assert.deepEqual(isReady, {
      state: 'healthy',
      reason: 'Ready=True (Ready)',
      condition: 'Ready',
      since: '2026-05-01T10:02:00Z',
      rule: 'generic#ready',
    });
  });
});

describe('generic rules: common conventions', () => {
  it('spec.suspend: true is suspended, before anything the status says', () =>
    void check(
      foo({ conditions: [cond('Ready', 'False')] }, { spec: { suspend: true } }),
      'suspended',
      'suspended',
    ));
  it('spec.paused: true is suspended', () =>
    void check(foo({}, { spec: { paused: true } }), 'suspended', 'paused'));
  it('Crossplane: Synced=False is degraded whatever Ready says; paused reconciliation is suspended', () => {
    check(
      foo({ conditions: [cond('Ready', 'True'), cond('Synced', 'False', 'ReconcileError')] }),
      'degraded',
      'synced-false',
    );
    check(foo({ conditions: [cond('Synced', 'False', 'ReconcilePaused')] }), 'suspended', 'sync-paused');
    check(foo({ conditions: [cond('Synced', 'True'), cond('Ready', 'True')] }), 'healthy', 'ready');
    check(
      foo({ conditions: [cond('Synced', 'True'), cond('Ready', 'False', 'Creating')] }),
      'progressing',
      'not-ready',
    );
  });
  it('Ready=False whose reason says it failed is degraded', () => {
    check(
      foo({ conditions: [cond('Ready', 'False', 'ReconciliationFailed', 'boom')] }),
      'degraded',
      'ready-failed',
    );
    check(foo({ conditions: [cond('Ready', 'False', 'InstallError')] }), 'degraded', 'ready-failed');
    check(foo({ conditions: [cond('Ready', 'False', 'Progressing')] }), 'progressing', 'not-ready');
  });
  it('abnormal-true conditions (Failed, Invalid, *Error, *Failed) are degraded', () => {
    check(foo({ conditions: [cond('Failed', 'True', '', 'no quota')] }), 'degraded', 'failure-condition');
    check(foo({ conditions: [cond('SpecError', 'True')] }), 'degraded', 'failure-condition');
    check(foo({ conditions: [cond('Invalid', 'True')] }), 'degraded', 'failure-condition');
    check(foo({ conditions: [cond('Failed', 'False')] }), 'healthy', 'current');
  });
  it('a condition False because something failed is degraded', () => {
    const v = check(
      foo({ conditions: [cond('ResourcesApplied', 'False', 'RemoteClusterClientFailed')] }),
      'degraded',
      'condition-failed',
    );
    assert.equal(v.reason, 'ResourcesApplied=False (RemoteClusterClientFailed)');
  });
  it('Knative and Tekton: Succeeded True, False, Unknown', () => {
    check(foo({ conditions: [cond('Succeeded', 'True')] }), 'healthy', 'succeeded');
    check(foo({ conditions: [cond('Succeeded', 'False')] }), 'degraded', 'not-succeeded');
    check(foo({ conditions: [cond('Succeeded', 'Unknown', 'Running')] }), 'progressing', 'succeeding');
  });
  it('Available, Progressing and Degraded conditions', () => {
    check(
      foo({ conditions: [cond('Available', 'True'), cond('Degraded', 'True')] }),
      'degraded',
      'degraded-condition',
    );
    check(
      foo({ conditions: [cond('Available', 'True'), cond('Progressing', 'True')] }),
      'healthy',
      'available',
    );
    check(foo({ conditions: [cond('Available', 'False')] }), 'progressing', 'not-available');
    check(foo({ conditions: [cond('Progressing', 'True')] }), 'progressing', 'progressing-condition');
  });
  it('an empty list of conditions is progressing: the controller has not reported yet', () => {
    check(foo({ conditions: [] }), 'progressing', 'no-conditions-yet');
    check(foo({ conditions: [], phase: 'Running' }), 'healthy', 'phase');
  });
  it('phase, state or status values, in any case', () => {
    const phase = (status: object, state: HealthState) => {
      const v = check(foo(status), state, 'phase');
      assert.match(v.reason, /^phase /);
    };
    phase({ phase: 'Running' }, 'healthy');
    phase({ phase: 'Succeeded' }, 'healthy');
    phase({ phase: 'Pending' }, 'progressing');
    phase({ phase: 'Failed' }, 'degraded');
    phase({ phase: 'Paused' }, 'suspended');
    phase({ phase: 'Unknown' }, 'unknown');
    phase({ state: 'error' }, 'degraded');
    phase({ status: 'InProgress' }, 'progressing');
    phase({ health: 'red' }, 'degraded');
    check(foo({ phase: 'SomethingElse' }), 'healthy', 'current');
    check(foo({ phase: 3 }), 'healthy', 'current');
  });
});
