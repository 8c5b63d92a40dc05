import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderObjects } from '../../src/app/renderObjects.ts';
import { CrdInputError, crdVersion } from '../../src/app/init/crd.ts';
import type { SchemaNode } from '../../src/app/init/crd.ts';
import { conditionsKeys, draftResource, MAX_STATES } from '../../src/app/init/draftResource.ts';
import type { DraftResource } from '../../src/app/init/draftResource.ts';
import { draftConfig } from '../../src/app/init/initConfig.ts';
import { metricPrefix, NameScope, snakeCase } from '../../src/app/init/names.ts';
import { parsePrinterColumnPath } from '../../src/app/init/printerColumnPath.ts';
import { readConfigText } from '../../src/config/loadConfig.ts';
import { compileConfig } from '../../src/engine/compile/compileConfig.ts';

/** A v1 CRD of kind Thing in things.acme.io with the given storage schema and printer columns. */
function crd(
  schema: SchemaNode,
  columns: Record<string, unknown>[] = [],
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'things.acme.io' },
    spec: {
      group: 'acme.io',
      scope: 'Namespaced',
      names: { kind: 'Thing', plural: 'things' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          additionalPrinterColumns: columns,
          ...extra,
        },
      ],
    },
  };
}

const statusOf = (properties: Record<string, SchemaNode>): SchemaNode => ({
  type: 'object',
  properties: { status: { type: 'object', properties } },
});

function draft(schema: SchemaNode, columns: Record<string, unknown>[] = []): DraftResource {
  return draftResource(crdVersion(crd(schema, columns)), 'acme_thing');
}

const families = (d: DraftResource) => d.metrics.map((m) => m.name);

/** Renders objects (as JSON documents) with a drafted config; returns the series and the error report. */
async function render(text: string, objects: unknown[]) {
  const read = readConfigText(text, 'draft.yaml');
  const compiled = compileConfig(read.config, { readProblems: read.problems });
  const stdin = () => Promise.resolve(objects.map((o) => JSON.stringify(o)).join('\n---\n'));
  const { pieces, report } = await renderObjects(compiled, { paths: ['-'], stdin }, 'text');
  const lines = [...pieces]
    .join('')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  return { lines, report };
}

describe('names', () => {
  it('snake_case from camelCase, acronyms, digits and symbols', () => {
    for (const [input, expected] of [
      ['readyReplicas', 'ready_replicas'],
      ['HTTPRoute', 'http_route'],
      ['IPAddressPool', 'ip_address_pool'],
      ['s3Bucket', 's3_bucket'],
      ['observedGeneration', 'observed_generation'],
      ['x-ray', 'x_ray'],
      ['crossplane.io/usage-details', 'crossplane_io_usage_details'],
      ['__', ''],
    ])
      assert.equal(snakeCase(input!), expected, input);
  });

  it('a prefix from the project that owns the group, and the kind', () => {
    for (const [group, kind, expected] of [
      ['cert-manager.io', 'Certificate', 'cert_manager_certificate'],
      ['helm.toolkit.fluxcd.io', 'HelmRelease', 'fluxcd_helm_release'],
      ['gateway.networking.k8s.io', 'HTTPRoute', 'gateway_http_route'],
      ['cluster.x-k8s.io', 'MachineDeployment', 'cluster_machine_deployment'],
      ['keda.sh', 'ScaledObject', 'keda_scaled_object'],
      ['kafka.strimzi.io', 'Kafka', 'strimzi_kafka'],
      ['velero.io', 'Backup', 'velero_backup'],
      ['local', 'Thing', 'local_thing'],
      ['3scale.net', 'APIManager', 'custom_3scale_api_manager'],
    ])
      assert.equal(metricPrefix(group!, kind!), expected, `${group}/${kind}`);
  });

  it('a name scope numbers repeats in the order they are claimed', () => {
    const scope = new NameScope(['name']);
    assert.deepEqual(
      ['name', 'a', 'a', 'a_2', 'a'].map((n) => scope.claim(n)),
      ['name_2', 'a', 'a_2', 'a_2_2', 'a_3'],
    );
  });
});

describe('printer column JSONPaths', () => {
  it('become steps a config path can follow', () => {
    assert.deepEqual(parsePrinterColumnPath('.status.conditions[?(@.type=="Ready")].status'), [
      { kind: 'field', name: 'status' },
      { kind: 'field', name: 'conditions' },
      { kind: 'filter', key: 'type', value: 'Ready' },
      { kind: 'field', name: 'status' },
    ]);
    assert.deepEqual(parsePrinterColumnPath(".status.conditions[?(@.type == 'Synced')].reason")?.[2], {
      kind: 'filter',
      key: 'type',
      value: 'Synced',
    });
    assert.deepEqual(parsePrinterColumnPath(".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"), [
      { kind: 'field', name: 'metadata' },
      { kind: 'field', name: 'labels' },
      { kind: 'field', name: 'cluster.x-k8s.io/cluster-name' },
    ]);
    assert.deepEqual(parsePrinterColumnPath('.metadata.annotations.crossplane\\.io/usage-details'), [
      { kind: 'field', name: 'metadata' },
      { kind: 'field', name: 'annotations' },
      { kind: 'field', name: 'crossplane.io/usage-details' },
    ]);
    assert.deepEqual(parsePrinterColumnPath('.status.hosts[-1]')?.[2], { kind: 'index', index: -1 });
  });

  it('are refused where they select several values or compute one', () => {
    for (const path of [
      '.status.nodes[*].name',
      '..name',
      '.status.conditions[?(@.status>1)].type',
      '.spec.a[0:2]',
      '',
      '.status.conditions[?(@.type=="Ready")',
    ])
      assert.equal(parsePrinterColumnPath(path), undefined, path);
  });
});

describe('the version to draft for', () => {
  const versioned = (versions: Record<string, unknown>[]) => ({
    ...crd({}),
    spec: { ...crd({}).spec, versions },
  });
  const schema = { openAPIV3Schema: { type: 'object' } };

  it('is the storage version, the one asked for, or the only one', () => {
    const two = versioned([
      { name: 'v1', served: true, storage: false, schema },
      { name: 'v2', served: true, storage: true, schema },
    ]);
    assert.deepEqual([crdVersion(two).version, crdVersion(two).versionChoice], ['v2', 'storage']);
    assert.deepEqual(
      [crdVersion(two, 'v1').version, crdVersion(two, 'v1').versionChoice],
      ['v1', 'requested'],
    );
    const one = versioned([{ name: 'v3', served: true, schema }]);
    assert.deepEqual([crdVersion(one).version, crdVersion(one).versionChoice], ['v3', 'only']);
  });

  it('refuses a version that is not served, and a CRD that names no group or kind', () => {
    const retired = versioned([
      { name: 'v1', served: false, storage: false, schema },
      { name: 'v2', served: true, storage: true, schema },
    ]);
    assert.throws(() => crdVersion(retired, 'v1'), /version v1 is not served \(served: v2\)/);
    assert.throws(() => crdVersion(versioned([])), /no version is marked storage: true/);
    const nameless = { ...crd({}), spec: { versions: [] } };
    assert.throws(() => crdVersion(nameless), CrdInputError);
  });
});

describe('what a schema field becomes', () => {
  it('numbers, flags and quantities of status are gauges; date-times are _timestamp_seconds gauges', () => {
    const d = draft(
      statusOf({
        replicas: { type: 'integer' },
        ratio: { type: 'number' },
        healthy: { type: 'boolean' },
        used: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          pattern:
            '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
        },
        startTime: { type: 'string', format: 'date-time' },
        completedAt: { type: 'string', format: 'date-time' },
      }),
    );
    assert.deepEqual(families(d), [
      'info',
      'metadata_creation_timestamp_seconds',
      'status_completed_timestamp_seconds',
      'status_healthy',
      'status_ratio',
      'status_replicas',
      'status_start_timestamp_seconds',
      'status_used',
    ]);
  });

  it('string enums are state sets (without the empty value); larger ones only labels, when a column shows them', () => {
    const many = Array.from({ length: MAX_STATES + 1 }, (_, i) => `s${i}`);
    const d = draft(
      {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: { region: { type: 'string', enum: many }, zone: { type: 'string', enum: many } },
          },
          status: { type: 'object', properties: { phase: { type: 'string', enum: ['', 'Up', 'Down'] } } },
        },
      },
      [{ name: 'Region', type: 'string', jsonPath: '.spec.region' }],
    );
    const phase = d.metrics.find((m) => m.name === 'status_phase')!;
    assert.deepEqual(phase.each, {
      type: 'StateSet',
      path: ['status', 'phase'],
      labelName: 'phase',
      list: ['Up', 'Down'],
    });
    const info = d.metrics[0]!.each;
    assert.equal(info.type, 'Info');
    assert.deepEqual(info.type === 'Info' && info.labels.map((l) => [l.name, l.path]), [
      ['region', ['spec', 'region']],
    ]);
    assert.ok(
      d.leftOut.some((l) => l.startsWith(`spec.zone: an enum of ${MAX_STATES + 1} values`)),
      d.leftOut.join('\n'),
    );
    assert.deepEqual(
      d.enums.map((e) => [e.field, e.family]),
      [
        ['spec.region', 'info'],
        ['spec.zone', undefined],
        ['status.phase', 'status_phase'],
      ],
    );
  });

  it('strings become labels only from printer columns, and never free text, UIDs or tokens', () => {
    const s = (extra: SchemaNode = {}): SchemaNode => ({ type: 'string', ...extra });
    const columns = [
      'owner',
      'message',
      'reason',
      'uid',
      'revision',
      'lastAppliedHash',
      'note',
      'caBundle',
      'summary',
    ].map((f) => ({ name: f, type: 'string', jsonPath: `.status.${f}` }));
    const d = draft(
      statusOf({
        owner: s(),
        message: s(),
        reason: s(),
        uid: s(),
        revision: s(),
        lastAppliedHash: s(),
        note: s(),
        caBundle: s({ format: 'byte' }),
        summary: s({ maxLength: 32768 }),
        unshown: s(),
      }),
      columns,
    );
    const info = d.metrics[0]!.each;
    assert.deepEqual(info.type === 'Info' && info.labels.map((l) => l.name), ['owner']);
    for (const field of [
      'message',
      'reason',
      'uid',
      'revision',
      'lastAppliedHash',
      'note',
      'caBundle',
      'summary',
      'unshown',
    ])
      assert.ok(
        d.leftOut.some((l) => l.startsWith(`status.${field}: `)),
        `status.${field} is listed as left out`,
      );
    assert.deepEqual(
      d.columns.map((c) => c.family),
      ['info', undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined],
    );
  });

  it('spec numbers only where a printer column or the scale subresource shows them', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: { replicas: { type: 'integer' }, port: { type: 'integer' }, size: { type: 'integer' } },
        },
      },
    };
    const version = crdVersion(
      crd(schema, [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }], {
        subresources: {
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
        },
      }),
    );
    const d = draftResource(version, 'acme_thing');
    assert.deepEqual(families(d), [
      'info',
      'metadata_creation_timestamp_seconds',
      'spec_replicas',
      'spec_size',
      'status_replicas',
    ]);
  });

  it('conditions: `conditions: {}` carries every condition, and a column naming one maps to its family', () => {
    const conditions = (typeEnum?: string[]): SchemaNode => ({
      type: 'array',
      items: {
        type: 'object',
        properties: {
          type: { type: 'string', ...(typeEnum ? { enum: typeEnum } : {}) },
          status: { type: 'string' },
          message: { type: 'string' },
        },
      },
    });
    const columns = [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Why', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
    ];
    for (const types of [undefined, ['Ready', 'Stalled']]) {
      const d = draft(statusOf({ conditions: conditions(types) }), columns);
      assert.deepEqual(
        d.extraKeys.map((k) => k.key),
        ['health', 'conditions'],
      );
      assert.ok(
        !families(d).some((f) => f.startsWith('status_condition')),
        `no state set of the draft's own: ${families(d).join(', ')}`,
      );
      assert.deepEqual(
        d.columns.map((c) => c.family),
        ['status_condition', undefined],
      );
      assert.ok(!d.leftOut.some((l) => l.startsWith('status.conditions:')), d.leftOut.join('\n'));
    }
  });

  it('health for every kind; conditions only for kinds whose status has conditions', () => {
    assert.deepEqual(
      conditionsKeys(crdVersion(crd(statusOf({})))).map((k) => k.key),
      ['health'],
    );
    const withConditions = statusOf({
      conditions: {
        type: 'array',
        items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } },
      },
    });
    assert.deepEqual(
      conditionsKeys(crdVersion(crd(withConditions))).map((k) => k.key),
      ['health', 'conditions'],
    );
  });

  it('names no family of its own as health or conditions name theirs', () => {
    const d = draft(
      statusOf({
        health: { type: 'string', enum: ['Green', 'Red'] },
        statusCondition: { type: 'integer' },
      }),
    );
    for (const reserved of ['health', 'status_condition'])
      assert.ok(!families(d).includes(reserved), `${reserved} in ${families(d).join(', ')}`);
  });

  it('lists, maps, open objects and deep objects are left out with the reason', () => {
    const deep: SchemaNode = {
      type: 'object',
      properties: {
        b: { type: 'object', properties: { c: { type: 'object', properties: { d: { type: 'integer' } } } } },
      },
    };
    const d = draft(
      statusOf({
        items: { type: 'array', items: { type: 'object' } },
        perZone: { type: 'object', additionalProperties: { type: 'integer' } },
        raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        a: deep,
      }),
    );
    assert.deepEqual(families(d), ['info', 'metadata_creation_timestamp_seconds']);
    assert.deepEqual(
      d.leftOut.map((l) => l.slice(0, l.indexOf(':'))),
      ['status.a.b.c', 'status.items', 'status.perZone', 'status.raw'],
    );
  });
});

describe('drafted configs', () => {
  it('check accepts them without a warning, whatever the field names (property)', async () => {
    const names = fc.constantFrom(
      'a',
      'b',
      'readyReplicas',
      'ready_replicas',
      'namespace',
      'in',
      'x-ray',
      'name',
      'le',
      '9lives',
      'info',
      'type',
      'Ready',
      '__x',
    );
    const leaf: fc.Arbitrary<SchemaNode> = fc.constantFrom<SchemaNode>(
      { type: 'integer' },
      { type: 'boolean' },
      { type: 'string', format: 'date-time' },
      { type: 'string', enum: ['A', 'B', ''] },
      { type: 'string' },
      { type: 'array', items: { type: 'string' } },
    );
    const node: fc.Arbitrary<SchemaNode> = fc.letrec<{ node: SchemaNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc
          .dictionary(names, tie('node'), { maxKeys: 4 })
          .map((properties) => ({ type: 'object', properties })),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(names, node, { maxKeys: 5 }),
        fc.dictionary(names, node, { maxKeys: 3 }),
        async (status, spec) => {
          const schema: SchemaNode = {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: spec },
              status: { type: 'object', properties: status },
            },
          };
          const columns = Object.keys(status).map((k) => ({
            name: k,
            type: 'string',
            jsonPath: `.status["${k}"]`,
          }));
          // draftConfig throws if check would reject or warn about its text.
          const { text } = await draftConfig([{ object: crd(schema, columns), where: 'test' }]);
          const read = readConfigText(text, 'draft.yaml');
          assert.deepEqual(read.problems, []);
          const compiled = compileConfig(read.config);
          assert.deepEqual(compiled.warnings, []);
          const names = compiled.families.map((f) => f.name);
          assert.equal(new Set(names).size, names.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('an object missing any part of a field path gives no series for it and no object error', async () => {
    const schema = statusOf({
      a: {
        type: 'object',
        properties: {
          b: {
            type: 'object',
            properties: { count: { type: 'integer' }, in: { type: 'integer' }, 'x-y': { type: 'integer' } },
          },
        },
      },
      when: { type: 'string', format: 'date-time' },
      shards: { type: 'array', items: { type: 'object', properties: { size: { type: 'integer' } } } },
      conditions: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            status: { type: 'string' },
            lastTransitionTime: { type: 'string', format: 'date-time' },
          },
        },
      },
    });
    const columns = [
      { name: 'Shard', type: 'integer', jsonPath: '.status.shards[0].size' },
      { name: 'Since', type: 'date', jsonPath: '.status.conditions[?(@.type=="Ready")].lastTransitionTime' },
    ];
    const { text } = await draftConfig([{ object: crd(schema, columns), where: 'test' }]);
    const object = (name: string, status?: unknown) => ({
      apiVersion: 'acme.io/v1',
      kind: 'Thing',
      metadata: { name, namespace: 'n' },
      ...(status === undefined ? {} : { status }),
    });
    const partial = [
      object('none'),
      object('empty', {}),
      object('a', { a: {} }),
      object('b', { a: { b: {} }, shards: [], conditions: [{ type: 'Other', status: 'True' }] }),
    ];
    const full = object('full', {
      a: { b: { count: 3, in: 4, 'x-y': 5 } },
      when: '2026-01-01T00:00:00Z',
      shards: [{ size: 6 }],
      conditions: [
        { type: 'Other' },
        { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T00:00:00Z' },
      ],
    });
    const rendered = await render(text, [...partial, full]);
    const report = rendered.report;
    // The families the draft reads from fields; health and conditions have their own tests.
    const lines = rendered.lines.filter(
      (l) => !/^acme_thing_(health|status_condition)(_last_transition_timestamp_seconds)?\{/.test(l),
    );
    assert.ok(rendered.lines.some((l) => l.startsWith('acme_thing_health{') && l.includes('name="none"')));
    assert.deepEqual(report.errors, []);
    for (const p of ['none', 'empty', 'a', 'b'])
      assert.deepEqual(
        lines.filter((l) => l.includes(`name="${p}"`)).map((l) => l.slice(0, l.indexOf('{'))),
        ['acme_thing_info'],
        p,
      );
    const values = lines
      .filter((l) => l.includes('name="full"'))
      .map((l) => `${l.slice(0, l.indexOf('{'))} ${l.slice(l.lastIndexOf(' ') + 1)}`);
    assert.deepEqual(values, [
      'acme_thing_info 1',
      'acme_thing_status_a_b_count 3',
      'acme_thing_status_a_b_in 4',
      'acme_thing_status_a_b_x_y 5',
      'acme_thing_status_conditions_ready_last_transition_timestamp_seconds 1767312000',
      'acme_thing_status_shards_size 6',
      'acme_thing_status_when_timestamp_seconds 1767225600',
    ]);
  });
});
