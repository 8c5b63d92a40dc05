import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/loadConfig.ts';
import { crdInfo, resolveTargets, withoutNamespaceExclusions } from '../../src/kube/resolveTargets.ts';

const crd = (kind: string, plural: string, scope: string) =>
  crdInfo({
    spec: { group: 'example.com', scope, names: { kind, plural }, versions: [{ name: 'v1', served: true }] },
    status: { conditions: [{ type: 'Established', status: 'True' }] },
  })!;

describe('namespace field selectors on cluster-scoped kinds', () => {
  it('drop metadata.namespace!= terms (the API server refuses the field there), keep the rest', () => {
    assert.equal(withoutNamespaceExclusions(undefined), undefined);
    assert.equal(withoutNamespaceExclusions('metadata.namespace!=kube-system'), undefined);
    assert.equal(
      withoutNamespaceExclusions('metadata.name!=x,metadata.namespace!=a, metadata.namespace != b'),
      'metadata.name!=x',
    );
    // An equality is not trivially true for an object without a namespace: kept, and refused.
    assert.equal(withoutNamespaceExclusions('metadata.namespace=a'), 'metadata.namespace=a');
  });

  it('resolveTargets keeps the selector for namespaced kinds and trims it for cluster-scoped ones', () => {
    const resources = parseConfig(
      `spec:
  resources:
    - groupVersionKind: {group: example.com, version: v1, kind: "*"}
      fieldSelector: metadata.name!=skip,metadata.namespace!=kube-system
      metrics: [{name: m, each: {type: Gauge, gauge: {path: [x]}}}]
`,
      'c.yaml',
    ).resources;
    const targets = resolveTargets(resources, [
      crd('Widget', 'widgets', 'Namespaced'),
      crd('Gadget', 'gadgets', 'Cluster'),
    ]);
    assert.equal(
      targets.get('example.com/v1/widgets')?.fieldSelector,
      'metadata.name!=skip,metadata.namespace!=kube-system',
    );
    assert.equal(targets.get('example.com/v1/gadgets')?.fieldSelector, 'metadata.name!=skip');
  });
});
