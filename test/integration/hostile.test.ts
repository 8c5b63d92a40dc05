import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertPromtoolAccepts } from '../support/promtool.ts';
import { runCli } from '../support/runCli.ts';

const CONFIG = `
spec:
  resources:
    - groupVersionKind: { group: hostile.io, version: v1, kind: Thing }
      metricNamePrefix: hostile
      labelsFromPath:
        name: [metadata, name]
        "*": [metadata, labels]
      metrics:
        - name: item_value
          help: "one series per list element, values at the float limits"
          each:
            type: Gauge
            gauge:
              path: [spec, items]
              valueFrom: [v]
              labelsFromPath: { key: [k] }
        - name: entry_info
          help: "one series per map key"
          each:
            type: Info
            info:
              path: [spec, entries]
              labelFromKey: entry
        - name: deep
          help: "a value 200 levels down"
          each:
            type: Gauge
            gauge:
              valueExpression: 'has(object.spec.deep) ? 1 : 0'
        - name: phase
          help: "state set with hostile states"
          each:
            type: StateSet
            stateSet:
              path: [spec, phase]
              labelName: phase
              list: ["a\\"b", "back\\\\slash", "new\\nline", "ünï✓"]
`;

function hostileObject(i: number): Record<string, unknown> {
  const items = Array.from({ length: 5000 }, (_, j) => ({
    k: `k${j}"\\\n${'é'.repeat(j % 5)}`,
    v: [
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      0,
      -1e-300,
      1e21,
      'NaN',
      '+Inf',
      '-Inf',
      '1e308',
    ][j % 10],
  }));
  const entries = Object.fromEntries(Array.from({ length: 5000 }, (_, j) => [`key.${j}/with-dash ü`, j]));
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let d = 0; d < 200; d++) deep = { nested: deep };
  return {
    apiVersion: 'hostile.io/v1',
    kind: 'Thing',
    metadata: {
      name: `thing-${i} "quoted" \\ back\nslash`,
      labels: {
        'app.kubernetes.io/name': 'x',
        app_kubernetes_io_name: 'collides',
        '9lives': 'digit',
        ünï: 'code',
      },
    },
    spec: { items, entries, deep, phase: 'new\nline', padding: 'x'.repeat(2_000_000) },
  };
}

describe('hostile input', () => {
  it('renders huge, deep, escaped and extreme objects as valid exposition without crashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    writeFileSync(join(dir, 'config.yaml'), CONFIG);
    writeFileSync(
      join(dir, 'objects.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [hostileObject(1), hostileObject(2)] }),
    );
    writeFileSync(
      join(dir, 'broken.yaml'),
      'apiVersion: hostile.io/v1\nkind: Thing\nmetadata: {name: [unclosed\n',
    );
    // 10,000 series per object: over the default per-object limits (test/engine/limits.test.ts
    // covers those), lifted here to check escaping and extremes at that size.
    const result = await runCli([
      'render',
      '--limits.object-series=0',
      '--limits.object-label-bytes=0',
      '--config',
      join(dir, 'config.yaml'),
      dir,
    ]);
    // The broken file is reported and makes the exit code 1; everything else is rendered.
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken\.yaml: invalid YAML at line \d+, column \d+/);
    const samples = result.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(samples.filter((l) => l.startsWith('hostile_item_value{')).length, 2 * 5000);
    assert.equal(samples.filter((l) => l.startsWith('hostile_entry_info{')).length, 2 * 5000);
    assert.equal(samples.filter((l) => l.startsWith('hostile_deep{')).length, 2);
    assert.ok(samples.some((l) => l.includes('phase="new\\nline"') && l.endsWith(' 1')));
    assert.ok(samples.some((l) => l.includes('+Inf')) && samples.some((l) => l.includes('NaN')));
    assert.ok(samples.some((l) => / 1\.7976931348623157e\+308$/.test(l)));
    assert.ok(samples.every((l) => l.includes('label_') === false));
    assert.match(result.stdout, /_9lives="digit"/);
    assertPromtoolAccepts(result.stdout);
  });
});
