// The rule evaluator on small rule documents written here: order (overrides, every-kind first,
// the kind's sets by specificity, every-kind last), `complete`, condition binding, value rules,
// reasons, and every problem a rule document can have, reported where it is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthRules } from '../../../src/engine/health/HealthRules.ts';
import { HealthRuleError } from '../../../src/engine/health/ruleDocument.ts';

const GENERIC = `
ruleSets:
  - name: generic
    everyKind: first
    rules:
      - name: deleting
        when: 'object.metadata.deletionTimestamp != ""'
        state: progressing
        reason: deletion in progress
  - name: generic
    everyKind: last
    rules:
      - name: ready
        condition: Ready
        when: self.status == "True"
        state: healthy
      - name: not-ready
        condition: Ready
        when: self.status != "True"
        state: progressing
      - name: current
        when: "true"
        state: healthy
        reason: nothing says otherwise
`;

const KINDS = `
ruleSets:
  - kinds: [{ group: example.com, kind: Widget }]
    complete: true
    rules:
      - when: object.status.phase == "Broken"
        state: degraded
        reasonExpression: '"phase " + object.status.phase + ": " + object.status.message'
      - condition: Ready
        when: self.status == "True"
        state: healthy
  - kinds: [{ group: example.com, kind: Gadget }]
    rules:
      - name: phase
        value: object.status.phase
        ignoreCase: true
        states:
          healthy: [Running]
          degraded: [Failed, Error]
  - name: any-example
    kinds: [{ group: "*.example.com", kind: "*" }]
    rules:
      - when: object.spec.paused == true
        state: suspended
        reason: paused
  - name: exact-group
    kinds: [{ group: sub.example.com, kind: "*" }]
    rules:
      - when: object.spec.broken == true
        state: degraded
        reason: broken
`;

const rules = HealthRules.fromDocuments([
  { file: 'generic.yaml', text: GENERIC },
  { file: 'kinds.yaml', text: KINDS },
]);

const ready = (status: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'x' },
  status: { conditions: [{ type: 'Ready', status, ...extra }] },
});

describe('HealthRules', () => {
  it('runs the kind rules before the generic ones, and the first true rule decides', () => {
    const v = rules.verdict(
      { status: { phase: 'Broken', message: 'disk full', conditions: [{ type: 'Ready', status: 'True' }] } },
      'example.com',
      'Widget',
    );
    assert.deepEqual(v, {
      state: 'degraded',
      reason: 'phase Broken: disk full',
      rule: 'example.com/Widget#1',
    });
  });

  it('binds self to the named condition and reports its type and lastTransitionTime', () => {
    const v = rules.verdict(
      ready('True', { message: 'all good', lastTransitionTime: '2026-01-02T03:04:05Z' }),
      'example.com',
      'Widget',
    );
    assert.deepEqual(v, {
      state: 'healthy',
      reason: 'Ready=True: all good',
      condition: 'Ready',
      since: '2026-01-02T03:04:05Z',
      rule: 'example.com/Widget#2',
    });
  });

  it('leaves out a lastTransitionTime that is not RFC 3339', () => {
    const v = rules.verdict(
      ready('False', { lastTransitionTime: 'yesterday', reason: 'Waiting' }),
      'x.io',
      'Foo',
    );
    assert.deepEqual(v, {
      state: 'progressing',
      reason: 'Ready=False (Waiting)',
      condition: 'Ready',
      rule: 'generic#not-ready',
    });
  });

  it('a complete set ends the chain: unknown when none of its rules applies', () => {
    const v = rules.verdict({ status: { phase: 'Fine' } }, 'example.com', 'Widget');
    assert.deepEqual(v, {
      state: 'unknown',
      reason: 'no rule of example.com/Widget applies',
      rule: 'example.com/Widget#none',
    });
  });

  it('a set that is not complete falls through to the generic rules', () => {
    assert.equal(
      rules.verdict({ status: { phase: 'Odd' } }, 'example.com', 'Gadget').rule,
      'generic#current',
    );
    assert.equal(rules.verdict(ready('False'), 'example.com', 'Gadget').rule, 'generic#not-ready');
  });

  it('maps a value to a state, ignoring case when asked, with the rule name in the reason', () => {
    assert.deepEqual(rules.verdict({ status: { phase: 'error' } }, 'example.com', 'Gadget'), {
      state: 'degraded',
      reason: 'phase error',
      rule: 'example.com/Gadget#phase',
    });
    assert.equal(rules.verdict({ status: { phase: 'RUNNING' } }, 'example.com', 'Gadget').state, 'healthy');
  });

  it('the every-kind first rules come before the kind rules', () => {
    const deleting = { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { phase: 'Broken' } };
    assert.equal(rules.verdict(deleting, 'example.com', 'Widget').rule, 'generic#deleting');
  });

  it('chains every matching set, most specific first: exact group, then *.suffix, then generic', () => {
    const chain = (group: string, kind: string) =>
      rules.chainFor(group, kind).map((s) => `${s.place}:${s.name}`);
    assert.deepEqual(chain('sub.example.com', 'Thing'), [
      'first:generic',
      'kind:exact-group',
      'kind:any-example',
      'last:generic',
    ]);
    assert.deepEqual(chain('example.com', 'Thing'), ['first:generic', 'last:generic']);
    assert.equal(
      rules.verdict({ spec: { paused: true, broken: true } }, 'sub.example.com', 'Thing').rule,
      'exact-group#1',
    );
    assert.equal(rules.verdict({ spec: { paused: true } }, 'sub.example.com', 'Thing').rule, 'any-example#1');
  });

  it('an expression that fails on the object (missing field, wrong type) does not apply', () => {
    // object.status.phase is missing, then a number: the phase rule of Widget does not apply.
    assert.equal(rules.verdict(ready('True'), 'example.com', 'Widget').rule, 'example.com/Widget#2');
    const v = rules.verdict({ status: { phase: 7, conditions: 'no' } }, 'example.com', 'Widget');
    assert.equal(v.state, 'unknown');
  });

  it('overrides come first, with the same syntax, and can be complete', () => {
    const withOverride = rules.withOverrides(
      {
        rules: [
          { name: 'mine', when: 'object.spec.replicas == 0', state: 'suspended', reason: 'scaled to 0' },
        ],
      },
      'config.yaml',
    );
    assert.deepEqual(
      withOverride.verdict({ spec: { replicas: 0 }, ...ready('True') }, 'example.com', 'Widget'),
      {
        state: 'suspended',
        reason: 'scaled to 0',
        rule: 'override#mine',
      },
    );
    assert.equal(withOverride.verdict(ready('True'), 'example.com', 'Widget').rule, 'example.com/Widget#2');
    // The rules it was made from are unchanged.
    assert.equal(
      rules.verdict({ spec: { replicas: 0 }, ...ready('True') }, 'example.com', 'Widget').state,
      'healthy',
    );
    const complete = rules.withOverrides(
      { complete: true, rules: [{ when: 'false', state: 'healthy' }] },
      'c.yaml',
    );
    assert.deepEqual(complete.verdict(ready('True'), 'example.com', 'Widget'), {
      state: 'unknown',
      reason: 'no rule of override applies',
      rule: 'override#none',
    });
  });

  it('a reason is one line of at most 200 characters; a failing reasonExpression falls back', () => {
    const long = rules.verdict(
      ready('False', { message: `line one\nline two ${'x'.repeat(500)}` }),
      'x.io',
      'Foo',
    );
    assert.equal(long.reason.length, 200);
    assert.match(long.reason, /^Ready=False: line one line two x+…$/);
    const noMessage = rules.verdict({ status: { phase: 'Broken' } }, 'example.com', 'Widget');
    assert.equal(noMessage.reason, 'object.status.phase == "Broken"');
  });

  it('a condition given by patterns binds the first entry whose fields all match, in full', () => {
    const patterns = HealthRules.fromDocuments([
      {
        file: 'p.yaml',
        text: [
          'ruleSets:',
          '  - kinds: [{ group: example.com, kind: Widget }]',
          '    rules:',
          '      - condition: { type: ".*Failed", status: "True" }',
          '        state: degraded',
          '      - condition: { status: "False", reason: "(?i).*error.*" }',
          '        when: self.message != "ignore me"',
          '        state: degraded',
        ].join('\n'),
      },
    ]);
    const verdict = (...conditions: object[]) =>
      patterns.verdict({ status: { conditions } }, 'example.com', 'Widget');
    assert.deepEqual(
      verdict({ type: 'Ready', status: 'True' }, { type: 'ScaleFailed', status: 'True', message: 'no' }),
      {
        state: 'degraded',
        reason: 'ScaleFailed=True: no',
        condition: 'ScaleFailed',
        rule: 'example.com/Widget#1',
      },
    );
    // Anchored: "Failed" must end the type; the status must be exactly True.
    assert.equal(
      verdict({ type: 'FailedOnce', status: 'True' }, { type: 'XFailed', status: 'true' }).state,
      'unknown',
    );
    assert.equal(
      verdict({ type: 'Synced', status: 'False', reason: 'ReconcileERROR', message: 'x' }).condition,
      'Synced',
    );
    assert.equal(
      verdict({ type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'ignore me' }).state,
      'unknown',
    );
    // A field that is not a string never matches a pattern.
    assert.equal(verdict({ type: 'XFailed', status: true }, { type: 5, status: 'True' }).state, 'unknown');
  });

  it('compiled on first use, an expression that does not compile makes its rule never apply', () => {
    const text = [
      'ruleSets:',
      '  - kinds: [{ group: example.com, kind: Widget }]',
      '    rules:',
      '      - { name: broken, when: "object.status.phase ==", state: degraded }',
      '      - { name: fine, when: "true", state: healthy }',
    ].join('\n');
    assert.throws(() => HealthRules.fromDocuments([{ file: 'r.yaml', text }]), /r\.yaml:4:.*CEL: /);
    const lazy = HealthRules.fromDocuments([{ file: 'r.yaml', text }], { compile: false });
    assert.equal(
      lazy.verdict({ status: { phase: 'x' } }, 'example.com', 'Widget').rule,
      'example.com/Widget#fine',
    );
  });

  it('anything that is not a JSON object is unknown', () => {
    for (const value of [null, undefined, 42, 'text', [1, 2], true])
      assert.deepEqual(rules.verdict(value, 'example.com', 'Widget'), {
        state: 'unknown',
        reason: 'not an object',
        rule: 'none',
      });
  });
});

describe('rule documents', () => {
  const problems = (text: string) => {
    try {
      HealthRules.fromDocuments([{ file: 'r.yaml', text }]);
    } catch (err) {
      assert.ok(err instanceof HealthRuleError);
      return err.problems.map((p) => `${p.where} ${p.keyPath}: ${p.message}`);
    }
    assert.fail('expected a HealthRuleError');
  };

  it('reports every problem at file:line:column with its key path', () => {
    const text = [
      'ruleSets:',
      '  - kinds: [{ group: example.com, kind: Widget }]',
      '    rules:',
      '      - when: object.status.phase ==',
      '        state: healthy',
      '      - when: "true"',
      '        state: fine',
      '      - when: "true"',
      '        state: healthy',
      '        colour: red',
      '      - value: object.status.phase',
      '        states: { healthy: [A], degraded: [A] }',
      '  - rules: [{ when: "true", state: healthy }]',
    ].join('\n');
    const got = problems(text);
    assert.equal(got.length, 5, got.join('\n'));
    assert.match(got[0]!, /^r\.yaml:4:15 ruleSets\[0\]\.rules\[0\]\.when: CEL: /);
    assert.equal(
      got[1],
      'r.yaml:7:16 ruleSets[0].rules[1].state: expected one of healthy, progressing, degraded, suspended, unknown',
    );
    assert.equal(got[2], 'r.yaml:10:17 ruleSets[0].rules[2].colour: unknown field "colour"');
    assert.equal(
      got[3],
      'r.yaml:12:44 ruleSets[0].rules[3].states.degraded[0]: "A" is already listed under healthy',
    );
    assert.match(got[4]!, /^r\.yaml:13:5 ruleSets\[1\]\.kinds: expected a list of \{group, kind\}/);
  });

  it('reports YAML syntax errors with their position', () => {
    const got = problems('ruleSets:\n  - rules: [\n');
    assert.ok(got.length > 0);
    assert.match(got[0]!, /^r\.yaml:\d+:\d+ : /);
  });

  it('rejects a condition pattern that is not a regular expression, or a field that cannot be one', () => {
    const got = problems(
      [
        'ruleSets:',
        '  - kinds: [{ group: example.com, kind: Widget }]',
        '    rules:',
        '      - { condition: { type: "(", colour-2: red }, state: healthy }',
      ].join('\n'),
    );
    assert.equal(got.length, 2, got.join('\n'));
    assert.match(got[0]!, /ruleSets\[0\]\.rules\[0\]\.condition\.type: not a regular expression: /);
    assert.match(
      got[1]!,
      /ruleSets\[0\]\.rules\[0\]\.condition\."colour-2": "colour-2" is not a condition field name/,
    );
  });

  it('rejects duplicate rule names, both rule forms at once, and a bad group pattern', () => {
    const got = problems(
      [
        'ruleSets:',
        '  - kinds: [{ group: "ex*ample", kind: Widget }]',
        '    rules:',
        '      - { name: a, when: "true", state: healthy }',
        '      - { name: a, when: "true", state: healthy }',
        '      - { when: "true", state: healthy, states: { healthy: [x] } }',
      ].join('\n'),
    );
    assert.deepEqual(
      got.map((g) => g.replace(/^\S+ /, '')),
      [
        'ruleSets[0].kinds[0].group: expected a group: "" (core), a name, "*" or "*.suffix"',
        'ruleSets[0].rules[1].name: two rules named "a" in one set',
        'ruleSets[0].rules[2].states: a rule with `when` has `state`, not `states`',
      ],
    );
  });

  it("an override reports key paths under the caller's path", () => {
    assert.throws(
      () =>
        rules.withOverrides({ rules: [{ when: '(', state: 'healthy' }], extra: 1 }, 'config.yaml', [
          'spec',
          'health',
        ]),
      (err: unknown) => {
        assert.ok(err instanceof HealthRuleError);
        assert.deepEqual(
          err.problems.map((p) => `${p.where} ${p.keyPath}`),
          ['config.yaml spec.health.extra', 'config.yaml spec.health.rules[0].when'],
        );
        return true;
      },
    );
    assert.throws(
      () => rules.withOverrides({ rules: [] }, 'config.yaml'),
      /rules: expected a non-empty list of rules/,
    );
  });
});
