import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertGolden } from '../support/golden.ts';
import { runCli } from '../support/runCli.ts';

const root = join(import.meta.dirname, '..', 'fixtures', 'config-errors');

// Every bad config must fail `check` (exit 1) with messages naming file, line, column and key path;
// the exact messages are golden files (<name>.expected) next to each config.
describe('check rejects bad configs with precise messages', () => {
  for (const file of readdirSync(root)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    it(file, async () => {
      const path = join('test', 'fixtures', 'config-errors', file);
      const result = await runCli(['check', '--config', path]);
      assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stdout}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, new RegExp(`^error: ${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: `, 'm'));
      assertGolden(result.stderr, join(root, file.replace(/\.yaml$/, '.expected')));
    });
  }
});

describe('check accepts the shipped examples', () => {
  for (const example of readdirSync(join(import.meta.dirname, '..', '..', 'examples'))
    .filter((e) => existsSync(join(import.meta.dirname, '..', '..', 'examples', e, 'config.yaml')))
    .sort()) {
    it(example, async () => {
      const result = await runCli(['check', '--config', join('examples', example, 'config.yaml')]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /OK: \d+ resources?, \d+ metrics? in \d+ famil/);
    });
  }
});

describe('check warns about configs that run but serve something odd', () => {
  it('a metric defined twice for one resource (the later definition replaces the earlier)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-warn-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(
        file,
        [
          'kind: CustomResourceStateMetrics',
          'spec:',
          '  resources:',
          '    - groupVersionKind: {group: example.com, version: v1, kind: Widget}',
          '      metrics:',
          '        - name: x',
          '          help: first',
          '          each: {type: Gauge, gauge: {path: [status, a]}}',
          '        - name: x',
          '          help: first',
          '          each: {type: Gauge, gauge: {path: [status, b]}}',
          '    - groupVersionKind: {group: example.com, version: v1, kind: Gadget}',
          '      metrics:',
          '        - name: x',
          '          help: first',
          '          each: {type: Gauge, gauge: {path: [status, a]}}',
          '',
        ].join('\n'),
      );
      const result = await runCli(['check', '--config', file]);
      assert.equal(result.code, 0, result.stderr);
      // The same name for another resource is a shared family (other objects), not a duplicate.
      assert.equal(
        result.stderr,
        `warning: ${file}:9:11: spec.resources[0].metrics[1]: metric "kube_customresource_x" is defined again for this resource (first at line 6); only this later definition's series are served\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
