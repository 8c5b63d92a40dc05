// The aggregation and nested-iteration examples (examples/aggregations/): each config, rendered
// over its objects, gives exactly its expected output (a golden file), cleanly (no object errors),
// valid for Prometheus' parser (promtool) and the OpenMetrics parser; `check` accepts it with no warnings.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertGolden } from '../support/golden.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolParses } from '../support/promtool.ts';
import { runCli } from '../support/runCli.ts';

const DIR = join('examples', 'aggregations');

describe('examples/aggregations', () => {
  const configs = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('-crd.yaml'))
    .sort();
  it('has the four examples of the asks it answers', () => {
    assert.deepEqual(configs, [
      'argocd-applications.yaml',
      'crossplane-managed-resources.yaml',
      'foos.yaml',
      'gateway-httproutes.yaml',
    ]);
  });
  for (const file of configs)
    it(file, async () => {
      const config = join(DIR, file);
      const checked = await runCli(['check', '--config', config]);
      assert.equal(checked.code, 0, checked.stderr);
      assert.equal(checked.stderr, '', 'no warnings');
      const objects = join(DIR, 'objects', file);
      const text = await runCli(['render', '--config', config, objects]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stderr, '', 'no object errors');
      assertGolden(text.stdout, join(DIR, 'expected', file.replace(/\.yaml$/, '.prom')));
      // Parsed, not linted: the issue names `kube_customresource_foo_replicas_sum`, and promtool's
      // lint reserves `_sum` for histograms and summaries (Prometheus scrapes it all the same).
      assertPromtoolParses(text.stdout);
      const om = await runCli(['render', '--format', 'openmetrics', '--config', config, objects]);
      assert.equal(om.code, 0, om.stderr);
      assertOpenMetricsAccepts([om.stdout]);
    });
});
