import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertGolden, withRenderTime } from '../support/golden.ts';
import { runCli } from '../support/runCli.ts';

// Relative paths keep file names in the golden stderr independent of where the repo is cloned.
const root = relative(process.cwd(), join(import.meta.dirname, '..', 'fixtures', 'render'));

// Each fixture directory holds config.yaml and objects; the expectations sit next to them:
// expected.prom (text 0.0.4), expected.om (OpenMetrics 1.0) and expected.stderr.
describe('render golden fixtures', () => {
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    const objects = readdirSync(dir)
      .filter((f) => f.startsWith('objects'))
      .map((f) => join(dir, f));
    it(name, async () => {
      const text = await runCli(['render', '--config', join(dir, 'config.yaml'), ...objects]);
      assert.equal(text.code, 0, text.stderr);
      assertGolden(withRenderTime(text.stdout), join(dir, 'expected.prom'));
      assertGolden(text.stderr, join(dir, 'expected.stderr'));
      const om = await runCli([
        'render',
        '--format',
        'openmetrics',
        '--config',
        join(dir, 'config.yaml'),
        ...objects,
      ]);
      assert.equal(om.code, 0, om.stderr);
      assertGolden(withRenderTime(om.stdout), join(dir, 'expected.om'));
    });
  }
});
