import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/loadConfig.ts';
import { clusterRoleFor, guessPlural } from '../../src/kube/clusterRole.ts';
import { crdInfo, resolveTargets } from '../../src/kube/resolveTargets.ts';

const crd = (
  group: string,
  kind: string,
  plural: string,
  versions: [string, boolean][],
  scope = 'Namespaced',
  established = true,
) =>
  crdInfo({
    spec: {
      group,
      scope,
      names: { kind, plural },
      versions: versions.map(([name, served]) => ({ name, served })),
    },
    status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False' }] },
  })!;

const config = (resources: string) => parseConfig(`spec:\n  resources:\n${resources}`, 'c.yaml').resources;
const metric = `      metrics: [{name: m, each: {type: Gauge, gauge: {path: [x]}}}]\n`;

describe('resolveTargets (what to list and watch)', () => {
  const crds = [
    crd('example.com', 'Widget', 'widgets', [
      ['v1', true],
      ['v1beta1', true],
      ['v1alpha1', false],
    ]),
    crd('example.com', 'Gadget', 'gadgets', [['v1', true]], 'Cluster'),
    crd('other.io', 'Widget', 'widgets', [['v1', true]]),
    crd('pending.io', 'Thing', 'things', [['v1', true]], 'Namespaced', false),
  ];

  it('expands version and kind wildcards to served versions of established CRDs only', () => {
    const ids = (r: string) => [...resolveTargets(config(r), crds).keys()].sort();
    assert.deepEqual(
      ids(`    - groupVersionKind: {group: example.com, version: "*", kind: Widget}\n${metric}`),
      ['example.com/v1/widgets', 'example.com/v1beta1/widgets'],
    );
    assert.deepEqual(ids(`    - groupVersionKind: {group: example.com, version: v1, kind: "*"}\n${metric}`), [
      'example.com/v1/gadgets',
      'example.com/v1/widgets',
    ]);
    assert.deepEqual(
      ids(`    - groupVersionKind: {group: example.com, version: v1alpha1, kind: Widget}\n${metric}`),
      [],
    );
    assert.deepEqual(
      ids(`    - groupVersionKind: {group: pending.io, version: v1, kind: Thing}\n${metric}`),
      [],
    );
  });

  it('a group wildcard watches every established CRD once, in its stored version', () => {
    const stored = crdInfo({
      spec: {
        group: 'stored.io',
        scope: 'Namespaced',
        names: { kind: 'Thing', plural: 'things' },
        versions: [
          { name: 'v1beta1', served: true },
          { name: 'v1', served: true, storage: true },
          { name: 'v2', served: false },
        ],
      },
      status: { conditions: [{ type: 'Established', status: 'True' }] },
    })!;
    const ids = [
      ...resolveTargets(
        config(`    - groupVersionKind: {group: "*", version: "*", kind: "*"}\n      health: {}\n`),
        [...crds, stored],
      ).keys(),
    ].sort();
    // Without `storage` on any version (as these test CRDs), the first served one.
    assert.deepEqual(ids, [
      'example.com/v1/gadgets',
      'example.com/v1/widgets',
      'other.io/v1/widgets',
      'stored.io/v1/things',
    ]);
    // An explicit version still selects that version of every kind that serves it.
    const v1beta1 = [
      ...resolveTargets(
        config(`    - groupVersionKind: {group: "*", version: v1beta1, kind: "*"}\n      health: {}\n`),
        [...crds, stored],
      ).keys(),
    ].sort();
    assert.deepEqual(v1beta1, ['example.com/v1beta1/widgets', 'stored.io/v1beta1/things']);
  });

  it('builds namespaced and cluster paths, one watch per configured namespace, with selectors', () => {
    const targets = resolveTargets(
      config(
        `    - groupVersionKind: {group: example.com, version: v1, kind: "*"}\n      namespaces: [a, b]\n      labelSelector: app=web\n      fieldSelector: metadata.name!=x\n${metric}`,
      ),
      crds,
    );
    assert.deepEqual(
      [...targets.values()].map((t) => `${t.path} ${t.labelSelector} ${t.fieldSelector}`).sort(),
      [
        '/apis/example.com/v1/gadgets app=web metadata.name!=x',
        '/apis/example.com/v1/namespaces/a/widgets app=web metadata.name!=x',
        '/apis/example.com/v1/namespaces/b/widgets app=web metadata.name!=x',
      ],
    );
  });
});

describe('clusterRoleFor (least privilege)', () => {
  it('grants get/list/watch on exactly the configured resources plus CRDs', () => {
    const role = clusterRoleFor(
      config(
        `    - groupVersionKind: {group: a.io, version: v1, kind: Policy}\n${metric}    - groupVersionKind: {group: a.io, version: v1, kind: Box}\n      resourcePlural: boxen\n${metric}    - groupVersionKind: {group: b.io, version: v1, kind: "*"}\n${metric}`,
      ),
    ) as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    assert.deepEqual(
      role.rules.map((r) => `${r.apiGroups.join()} ${r.resources.join()} ${r.verbs.join()}`),
      [
        'apiextensions.k8s.io customresourcedefinitions get,list,watch',
        'a.io boxen,policies get,list,watch',
        'b.io * get,list,watch',
      ],
    );
    assert.equal(guessPlural('Ingress'), 'ingresses');
    assert.equal(guessPlural('Certificate'), 'certificates');
  });
});
