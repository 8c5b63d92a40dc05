import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readConfigText } from '../../src/config/loadConfig.ts';
import { compileConfig } from '../../src/engine/compile/compileConfig.ts';
import { explainObject } from '../../src/app/explain/explainObject.ts';
import type { FamilyExplanation } from '../../src/app/explain/explainObject.ts';
import { failedFieldRequirement, failedLabelRequirement } from '../../src/app/explain/selectors.ts';
import { answerExplain, MAX_EXPLAIN_IN_FLIGHT } from '../../src/app/explain/explainEndpoint.ts';
import type { KubeClient } from '../../src/kube/KubeClient.ts';
import { parseLiveTarget } from '../../src/app/explain/liveTarget.ts';

/** A config from YAML text, compiled as `check` does (it must have no problem). */
function compile(text: string) {
  const read = readConfigText(text, 'c.yaml');
  assert.deepEqual(read.problems, []);
  return compileConfig(read.config);
}

function widget(extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'default', uid: 'u1', ...metadata },
    ...extra,
  };
}

/** The families of the first resource the object matches, by name. */
function families(text: string, object: unknown): Map<string, FamilyExplanation> {
  const explanation = explainObject({ config: compile(text) }, object, 'test');
  assert.equal(explanation.unmatched, undefined);
  return new Map(explanation.resources.at(-1)!.families.map((f) => [f.name, f]));
}

const HEAD = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
`;

const GAUGE = `      metrics:
        - name: replicas
          help: r
          each:
            type: Gauge
            gauge:
              path: [status, replicas]
`;

describe('explainObject', () => {
  it('filters: namespaces, labelSelector, fieldSelector, each expected and named', () => {
    const ns = families(`${HEAD}      namespaces: [shop]\n${GAUGE}`, widget({ status: { replicas: 1 } }));
    assert.equal(ns.get('kube_customresource_replicas')!.verdict, 'expected');
    assert.equal(
      ns.get('kube_customresource_replicas')!.reason,
      "filtered: namespace default is not in the resource's namespaces [shop]",
    );
    const sel = families(
      `${HEAD}      labelSelector: "env in (prod,staging),!legacy"\n${GAUGE}`,
      widget({ status: { replicas: 1 } }, { labels: { env: 'dev' } }),
    );
    assert.equal(
      sel.get('kube_customresource_replicas')!.reason,
      'filtered: the object\'s labels do not satisfy "env in (prod,staging)" of labelSelector "env in (prod,staging),!legacy"',
    );
    const field = families(
      `${HEAD}      fieldSelector: metadata.name=other\n${GAUGE}`,
      widget({ status: { replicas: 1 } }),
    );
    assert.equal(field.get('kube_customresource_replicas')!.verdict, 'expected');
    // A running bridge's --namespaces and --namespaces-denylist.
    const config = compile(`${HEAD}${GAUGE}`);
    const object = widget({ status: { replicas: 1 } });
    const reason = (allow: string[], deny: string[]) =>
      explainObject({ config, namespaceFlags: { allow, deny } }, object, 't').resources[0]!.families[0]!
        .reason;
    assert.equal(reason(['shop'], []), 'filtered: namespace default is not in --namespaces [shop]');
    assert.equal(reason([], ['default']), 'filtered: namespace default is in --namespaces-denylist');
    assert.equal(reason(['default'], ['other']), undefined);
    // Within the filters the series are given.
    const kept = families(
      `${HEAD}      namespaces: [default]\n${GAUGE}`,
      widget({ status: { replicas: 1 } }),
    );
    assert.equal(kept.get('kube_customresource_replicas')!.verdict, 'series');
  });

  it('a later entry for the same kind replaces an earlier one: expected, pointing at the later one', () => {
    const config = compile(
      `${HEAD}${GAUGE}    - groupVersionKind: {group: example.com, version: v1, kind: Widget}\n${GAUGE}`,
    );
    const explanation = explainObject({ config }, widget({ status: { replicas: 2 } }), 'test');
    assert.equal(explanation.resources.length, 2);
    const [earlier, later] = explanation.resources;
    assert.equal(earlier!.families[0]!.verdict, 'expected');
    assert.match(
      earlier!.families[0]!.reason!,
      /^a later entry for the same kind replaces this one .*: example.com\/v1\/Widget at c.yaml:12$/,
    );
    assert.deepEqual(later!.families[0]!.series.length, 1);
  });

  it('health: {} names the state, the rule that decided it and why; an override first', () => {
    const generic = families(
      `${HEAD}      health: {}\n`,
      widget({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'InstallFailed' }] } }),
    ).get('kube_customresource_health')!;
    assert.equal(generic.verdict, 'series');
    assert.equal(generic.series.length, 5);
    assert.equal(generic.note, 'degraded by rule generic#ready-failed: Ready=False (InstallFailed)');
    const overridden = families(
      `${HEAD}      health:\n        rules:\n          - name: zero\n            when: object.spec.replicas == 0\n            state: suspended\n            reason: scaled to zero\n`,
      widget({ spec: { replicas: 0 }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }),
    ).get('kube_customresource_health')!;
    assert.equal(overridden.note, 'suspended by rule override#zero: scaled to zero');
  });

  it('conditions: {} on an object without conditions is expected; an empty list is expected', () => {
    const c = families(`${HEAD}      conditions: {}\n`, widget());
    assert.equal(
      c.get('kube_customresource_status_condition')!.reason,
      'the object has no status.conditions (yet)',
    );
    assert.equal(c.get('kube_customresource_status_condition')!.verdict, 'expected');
    const empty = families(
      `${HEAD}      metrics:\n        - name: c\n          help: c\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions]\n              valueFrom: [n]\n`,
      widget({ status: { conditions: [] } }),
    );
    assert.equal(empty.get('kube_customresource_c')!.reason, 'path [status,conditions] is an empty list');
    assert.equal(empty.get('kube_customresource_c')!.verdict, 'expected');
  });

  it('a state set whose valueFrom is nil, an info whose own labels find nothing, a value that is not a number', () => {
    const text = `${HEAD}      metrics:
        - name: phase
          help: p
          each:
            type: StateSet
            stateSet:
              labelName: phase
              path: [status]
              valueFrom: [phase]
              list: [A, B]
        - name: owner_info
          help: o
          each:
            type: Info
            info:
              path: [spec]
              labelsFromPath:
                owner: [owner]
        - name: size
          help: s
          each:
            type: Gauge
            gauge:
              path: [spec, size]
`;
    const f = families(text, widget({ spec: { size: 'big' }, status: { phase: null, ready: true } }));
    assert.equal(f.get('kube_customresource_phase')!.reason, 'the state at [status,phase] is a nil value');
    assert.equal(f.get('kube_customresource_phase')!.verdict, 'error');
    assert.equal(
      f.get('kube_customresource_owner_info')!.reason,
      'none of the info labels (owner) finds a value in [spec]',
    );
    assert.match(
      f.get('kube_customresource_size')!.reason!,
      /^a value is not a number: \[spec,size\]: .*"big"/,
    );
  });

  it('series given with some elements failing: the series, and the first failure as the reason', () => {
    const text = `${HEAD}${GAUGE.replace('[status, replicas]', '[status, sizes]\n              valueFrom: [v]\n              labelsFromPath:\n                n: [n]')}`;
    const sizes = [
      { n: 'a', v: 1 },
      { n: 'b', v: 'x' },
      { n: 'c', v: 3 },
    ];
    const f = families(text, widget({ status: { sizes } })).get('kube_customresource_replicas')!;
    assert.equal(f.series.length, 2);
    assert.equal(f.verdict, 'error');
    assert.match(
      f.reason!,
      /^some series are missing: a value is not a number: \[status,sizes\]: \[1\]: \[v\]: .*"x"/,
    );
  });

  it('a path that meets a scalar or a list says what it met', () => {
    const text = `${HEAD}${GAUGE.replace('[status, replicas]', '[status, replicas, count]')}`;
    const scalar = families(text, widget({ status: { replicas: 3 } }));
    assert.equal(
      scalar.get('kube_customresource_replicas')!.reason,
      'path [status,replicas,count] stops at "count": replicas is not a map or list but int64 3 (nilIsZero: true would give 0)',
    );
    const filter = families(
      `${HEAD}${GAUGE.replace('[status, replicas]', '[status, conditions, "[type=Ready]", status]')}`,
      widget({ status: { conditions: [{ type: 'Synced', status: 'True' }] } }),
    );
    assert.equal(
      filter.get('kube_customresource_replicas')!.reason,
      'path [status,conditions,[type=Ready],status] stops at "[type=Ready]": no element of conditions (a list of 1) matches (nilIsZero: true would give 0)',
    );
  });

  it('an object without apiVersion and kind, and a kind that differs in case only', () => {
    const config = compile(`${HEAD}${GAUGE}`);
    assert.equal(
      explainObject({ config }, { metadata: {} }, 't').unmatched,
      'the object has no apiVersion and kind',
    );
    assert.equal(
      explainObject({ config }, { ...widget(), kind: 'widget' }, 't').unmatched,
      "closest: example.com/v1/Widget at c.yaml:4: kind Widget differs from the object's widget in case only (kinds are case-sensitive)",
    );
  });
});

describe('selectors as the API server applies them', () => {
  const object = { metadata: { name: 'a', namespace: 'n', labels: { env: 'prod', tier: 'web' } } };
  it('label selectors: equality, sets, existence', () => {
    assert.equal(failedLabelRequirement('env=prod,tier==web', object), undefined);
    assert.equal(failedLabelRequirement('env!=prod', object), 'env!=prod');
    assert.equal(failedLabelRequirement('env in (dev, prod), tier notin (db)', object), undefined);
    assert.equal(failedLabelRequirement('tier notin (web)', object), 'tier notin (web)');
    assert.equal(failedLabelRequirement('env,!legacy', object), undefined);
    assert.equal(failedLabelRequirement('legacy', object), 'legacy');
    assert.equal(failedLabelRequirement('!env', object), '!env');
  });
  it('field selectors on metadata', () => {
    assert.equal(failedFieldRequirement('metadata.name=a,metadata.namespace!=x', object), undefined);
    assert.equal(failedFieldRequirement('metadata.namespace=x', object), 'metadata.namespace=x');
  });
});

describe('/explain parameters', () => {
  const context = {
    config: compile(`${HEAD}${GAUGE}`),
    limitFlags: {},
    shard: undefined,
    client: undefined,
    namespaceFlags: { allow: [], deny: [] },
  };
  it('400 for a missing or malformed resource or name, 501 without a Kubernetes client', async () => {
    assert.equal((await answerExplain(new URLSearchParams('name=w'), context)).status, 400);
    assert.equal((await answerExplain(new URLSearchParams('resource=widget'), context)).status, 400);
    assert.equal((await answerExplain(new URLSearchParams('resource=wid/get&name=w'), context)).status, 400);
    const files = await answerExplain(
      new URLSearchParams('resource=widgets.example.com&name=w&namespace=d'),
      context,
    );
    assert.equal(files.status, 501);
  });
  it('429 past the explanations in flight; a slot is free again once one is answered', async () => {
    // A client whose requests hang until released: only the count of requests in flight matters here
    // (the answers themselves are tested against a real kube-apiserver in test/integration).
    const release: (() => void)[] = [];
    const client = {
      server: 'https://api',
      get: () =>
        new Promise((_resolve, reject) =>
          release.push(() => reject(Object.assign(new Error('stopped'), { code: 'ECONNRESET' }))),
        ),
    } as unknown as KubeClient;
    const params = new URLSearchParams('resource=widgets.example.com&name=w&namespace=d');
    const pending = Array.from({ length: MAX_EXPLAIN_IN_FLIGHT }, () =>
      answerExplain(params, { ...context, client }),
    );
    const refused = await answerExplain(params, { ...context, client });
    assert.equal(refused.status, 429);
    for (const r of release) r();
    const answers = await Promise.all(pending);
    assert.deepEqual(
      answers.map((a) => a.body),
      answers.map(() => 'error: cannot reach the API server https://api: ECONNRESET\n'),
    );
    const next = answerExplain(params, { ...context, client });
    release.at(-1)!();
    assert.equal((await next).status, 422);
  });

  it('TYPE[.GROUP]/NAME as kubectl spells it', () => {
    assert.deepEqual(parseLiveTarget('widgets.example.com/web', 'ns'), {
      type: 'widgets',
      group: 'example.com',
      name: 'web',
      namespace: 'ns',
    });
    assert.deepEqual(parseLiveTarget('Widget/web', undefined), {
      type: 'Widget',
      group: undefined,
      name: 'web',
      namespace: undefined,
    });
    assert.equal(parseLiveTarget('widget', undefined), undefined);
    assert.equal(parseLiveTarget('a/b/c', undefined), undefined);
  });
});
