// Property-based tests (fast-check): generated configs and hostile objects through the engine and
// through `render` (the CLI entry, in-process). Whatever the input, nothing throws, every run exits
// 0 or 1 with a message, and every output parses: promtool for text 0.0.4, the OpenMetrics parser
// for OpenMetrics. Outputs are batched (unique metric prefixes per run) so each parser runs once.
// FC_SEED / FC_RUNS reproduce or widen a run.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/ConfigError.ts';
import { parseConfig } from '../../src/config/loadConfig.ts';
import { compileConfig } from '../../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../src/exposition/renderFamilies.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolParses } from '../support/promtool.ts';
import { runCli } from '../support/runCli.ts';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const RUNS = Number(process.env.FC_RUNS ?? 1);
const params = (numRuns: number) => ({
  numRuns: numRuns * RUNS,
  ...(SEED !== undefined ? { seed: SEED } : {}),
});

// ---------------------------------------------------------------- objects

/** Keys the configs refer to, so generated objects actually feed the metrics. */
const KEYS = ['spec', 'status', 'items', 'phase', 'value', 'name', 'labels', 'conditions', 'type', 'x'];
const weirdKey = fc.constantFrom(
  'a.b',
  '9lives',
  'ünï',
  '',
  ' ',
  '"q"',
  'back\\slash',
  'new\nline',
  '__x',
  'k8s.io/x',
);
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  weirdKey,
  fc.string({ maxLength: 6 }),
);

/** Any UTF-16 code units, lone surrogates included (not valid Unicode on their own). */
const rawString = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
  .map((units) => String.fromCharCode(...units));
const edgeNumber = fc.constantFrom(
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e21,
  1e-7,
);
const scalarString = fc.oneof(
  fc.string(),
  rawString,
  fc.constantFrom(
    'NaN',
    '+Inf',
    '-Inf',
    '1e308',
    '2026-11-30T08:00:00Z',
    '100Mi',
    '1.5Gi',
    'True',
    'Ready',
    '',
  ),
);
const scalar = fc.oneof(scalarString, edgeNumber, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
const huge = fc.oneof(
  // Around the default label value limit (64 KiB), on both sides.
  fc.integer({ min: 1_000, max: 70_000 }).map((n) => 'h'.repeat(n)),
  fc
    .integer({ min: 100, max: 3_000 })
    .map((n) => Array.from({ length: n }, (_, i) => ({ name: `e${i}`, value: i }))),
  // A chain, not a shared DAG: every level is a distinct object, as parsed JSON would be.
  fc.integer({ min: 50, max: 1_000 }).map((depth) => {
    let v: unknown = { value: 1 };
    for (let i = 0; i < depth; i++) v = { x: v };
    return v;
  }),
);
const { value: jsonValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: scalar },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
    { weight: 2, arbitrary: fc.dictionary(key, tie('value'), { maxKeys: 5 }) },
    { weight: 1, arbitrary: huge },
  ),
}));

const GVK = { group: 'prop.example.com', version: 'v1', kind: 'Thing' };
const object = fc.record({
  apiVersion: fc.oneof(
    { weight: 9, arbitrary: fc.constant(`${GVK.group}/${GVK.version}`) },
    fc.constant('other/v1'),
  ),
  kind: fc.oneof({ weight: 9, arbitrary: fc.constant(GVK.kind) }, scalarString),
  metadata: fc.record({
    name: fc.oneof(fc.string({ maxLength: 20 }), rawString),
    namespace: fc.oneof(fc.constant('ns'), scalar),
    labels: fc.dictionary(key, scalar, { maxKeys: 4 }),
  }),
  spec: fc.dictionary(key, jsonValue, { maxKeys: 5 }),
  status: fc.oneof(fc.dictionary(key, jsonValue, { maxKeys: 5 }), scalar),
});

// ---------------------------------------------------------------- configs

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS) },
  fc.constantFrom('0', '-1', '[type=Ready]', '[name=e1]', '*'),
  weirdKey,
);
const path = fc.array(segment, { maxLength: 3 });
const labelName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('owner', 'phase', 'state', 'item') },
  fc.constantFrom('a.b', '9x', 'ünï', 'camelCase', 'with-dash', '*', 'prefix_*', 'k8s.io/name'),
);
const labelsFromPath = fc.dictionary(labelName, path, { maxKeys: 3 });
const CEL = [
  'has(object.spec.value) ? object.spec.value : null',
  'object.spec.value * 2',
  'self',
  'size(object.spec)',
  '1 / 0',
  'double(1) / 0.0',
  '"2026-11-30T08:00:00Z"',
  'object.metadata.name',
  'dyn(object).spec.items[0].value',
  'has(self.value) ? self.value : 0',
];
const cel = fc.constantFrom(...CEL);
const states = fc.array(fc.oneof(fc.constantFrom('Ready', 'True', 'False', ''), scalarString), {
  minLength: 1,
  maxLength: 4,
});
const each = fc.oneof(
  fc.record({
    type: fc.constant('Gauge'),
    gauge: fc.record(
      {
        path,
        valueFrom: path,
        labelsFromPath,
        labelFromKey: labelName,
        nilIsZero: fc.boolean(),
        valueExpression: cel,
      },
      { requiredKeys: ['path'] },
    ),
  }),
  fc.record({
    type: fc.constant('StateSet'),
    stateSet: fc.record(
      { path, valueFrom: path, labelsFromPath, labelName, list: states },
      { requiredKeys: ['labelName', 'list'] },
    ),
  }),
  fc.record({
    type: fc.constant('Info'),
    info: fc.record({ path, labelsFromPath, labelFromKey: labelName }, { requiredKeys: [] }),
  }),
);
const metric = fc.record(
  {
    name: fc.constantFrom('m_a', 'm_b', 'm_c_info', 'm_d'),
    help: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('help with \\ and "quotes"\nand a newline')),
    labelsFromPath,
    labelsFromExpression: fc.dictionary(labelName, cel, { maxKeys: 2 }),
    commonLabels: fc.dictionary(labelName, scalarString, { maxKeys: 2 }),
    each,
  },
  { requiredKeys: ['name', 'help', 'each'] },
);
const resource = fc.record(
  {
    labelsFromPath,
    commonLabels: fc.dictionary(labelName, scalarString, { maxKeys: 2 }),
    labelOrder: fc.constantFrom('sorted', 'declared'),
    customResourceLabels: fc.boolean(),
    limits: fc.record(
      { objectSeries: fc.nat(3_000), labelValueLength: fc.nat(70_000), familySeries: fc.nat(50) },
      { requiredKeys: [] },
    ),
    metrics: fc.array(metric, { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: ['metrics'] },
);

/**
 * One generated config as YAML text, with a metric prefix unique to this run. Every config
 * identifies objects by a `uid` label: without one, two objects can give the same series, which
 * the bridge does not deduplicate across objects (see docs/config.md, "Limits").
 */
function configText(r: { labelsFromPath?: Record<string, string[]> }, prefix: string): string {
  return stringify({
    kind: 'CustomResourceStateMetrics',
    spec: {
      resources: [
        {
          groupVersionKind: GVK,
          metricNamePrefix: prefix,
          ...r,
          labelsFromPath: { ...r.labelsFromPath, uid: ['metadata', 'uid'] },
        },
      ],
    },
  });
}

/** Objects with distinct uids. */
function withUids<T extends { metadata: object }>(objects: T[]): T[] {
  return objects.map((o, i) => ({ ...o, metadata: { ...o.metadata, uid: `uid-${i}` } }));
}

const EXPECTED_OUTCOMES = new Set(['upserted', 'limited', 'unmatched']);

describe('property: any config and any object', () => {
  it('the engine never throws, reports no internal error, and renders parseable output', () => {
    const text: string[] = [];
    const om: string[] = [];
    let run = 0;
    fc.assert(
      fc.property(resource, fc.array(object, { maxLength: 4 }), (r, objects) => {
        const prefix = `e${run++}`;
        let compiled;
        try {
          compiled = compileConfig(parseConfig(configText(r, prefix), 'generated.yaml'));
        } catch (err) {
          // Generated configs may be invalid (e.g. an empty list of states): that is a ConfigError
          // with a message, never anything else.
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(err.problems.length > 0 && err.problems.every((p) => p.message !== ''));
          return;
        }
        const cache = new SeriesCache(compiled.families);
        const errors = new ObjectErrors();
        const ingestor = new ObjectIngestor(compiled, cache, errors);
        withUids(objects).forEach((o, i) => {
          const outcome = ingestor.upsertNow('test', `k${i}`, o);
          assert.ok(EXPECTED_OUTCOMES.has(outcome), `outcome ${outcome}`);
        });
        const internal = errors.summaries().filter((s) => s.kind === 'internal');
        assert.deepEqual(internal, [], 'internal errors are bugs');
        text.push(renderFamilies(compiled.families, (f) => cache.blocks(f), 'text'));
        om.push(renderFamilies(compiled.families, (f) => cache.blocks(f), 'openmetrics'));
      }),
      params(100),
    );
    assertPromtoolParses(text.join(''));
    assertOpenMetricsAccepts(om);
  });

  /**
   * The object as YAML. The yaml library's stringify recurses once per level and overflows the
   * stack on the deepest generated objects; JSON is YAML too (flow style), so those are written as
   * JSON in the .yaml file, and the bridge's YAML reader still has to cope with the depth.
   */
  const yamlText = (o: unknown): string => {
    try {
      return stringify(o);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      return JSON.stringify(o);
    }
  };

  it('render exits 0 or 1 with a message, never throws, and prints parseable output', async () => {
    const root = mkdtempSync(join(tmpdir(), 'prop-render-'));
    const text: string[] = [];
    const om: string[] = [];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        resource,
        fc.array(object, { maxLength: 3 }),
        fc.constantFrom('yaml', 'json'),
        async (r, objects, encoding) => {
          const dir = join(root, String(run));
          const prefix = `r${run++}`;
          mkdirSync(join(dir, 'objects'), { recursive: true });
          writeFileSync(join(dir, 'config.yaml'), configText(r, prefix));
          // YAML keeps NaN and ±Inf (.nan, .inf); JSON keeps lone surrogates (\udXXX).
          withUids(objects).forEach((o, i) =>
            writeFileSync(
              join(dir, 'objects', `o${i}.${encoding}`),
              encoding === 'yaml' ? yamlText(o) : JSON.stringify(o),
            ),
          );
          for (const format of ['text', 'openmetrics'] as const) {
            const result = await runCli([
              'render',
              '--format',
              format,
              '--config',
              join(dir, 'config.yaml'),
              join(dir, 'objects'),
            ]);
            assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}`);
            if (result.code === 1) assert.match(result.stderr, /^error: /m);
            assert.doesNotMatch(result.stderr, /^\s+at .*:\d+:\d+\)?$/m, 'a stack trace');
            if (result.code === 0 || result.stdout !== '')
              (format === 'text' ? text : om).push(result.stdout);
          }
        },
      ),
      params(30),
    );
    assertPromtoolParses(text.join(''));
    assertOpenMetricsAccepts(om.filter((o) => o !== ''));
  });
});
