import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';
import { runCli } from '../support/runCli.ts';

const EXAMPLES = 'examples';

/** The object files of an example: every YAML file but its config and CRD. */
function exampleObjects(example: string): string[] {
  return readdirSync(join(EXAMPLES, example))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'config.yaml' && f !== 'crd.yaml')
    .map((f) => join(EXAMPLES, example, f));
}

/** Sample lines as `name{labels}` (the series identity), to find duplicates across the output. */
function seriesIds(exposition: string): string[] {
  return exposition
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
}

async function assertCleanRender(config: string, objects: string[]): Promise<string> {
  const text = await runCli(['render', '--config', config, ...objects]);
  assert.equal(text.code, 0, text.stderr);
  // No object errors, no duplicate-series reports, no limit cut-offs, nothing unmatched.
  assert.equal(text.stderr, '', `render printed problems for ${config}`);
  const ids = seriesIds(text.stdout);
  assert.ok(ids.length > 0);
  assert.equal(new Set(ids).size, ids.length, `duplicate series in ${config}`);
  assertPromtoolAccepts(text.stdout);
  const om = await runCli(['render', '--format', 'openmetrics', '--config', config, ...objects]);
  assert.equal(om.code, 0, om.stderr);
  assertOpenMetricsAccepts([om.stdout]);
  return text.stdout;
}

describe('shipped configs render their example objects cleanly', () => {
  for (const example of readdirSync(EXAMPLES)
    .filter((e) => existsSync(join(EXAMPLES, e, 'config.yaml')))
    .sort()) {
    it(`examples/${example}`, async () => {
      await assertCleanRender(join(EXAMPLES, example, 'config.yaml'), exampleObjects(example));
    });
  }

  it('the deploy/ ConfigMap config, over every example object', async () => {
    const configMap = parse(readFileSync('deploy/04-configmap.yaml', 'utf8')) as {
      data: Record<string, string>;
    };
    const file = join(mkdtempSync(join(tmpdir(), 'configmap-')), 'config.yaml');
    writeFileSync(file, configMap.data['config.yaml']!);
    const objects = readdirSync(EXAMPLES)
      .filter((e) => existsSync(join(EXAMPLES, e, 'config.yaml')))
      .flatMap(exampleObjects);
    const out = await assertCleanRender(file, objects);
    assert.match(out, /^certmanager_certificate_info\{/m);
  });

  it('cert-manager: exactly one info series per certificate, with every label', async () => {
    const r = await runCli([
      'render',
      '--config',
      'examples/cert-manager/config.yaml',
      ...exampleObjects('cert-manager'),
    ]);
    const info = r.stdout.split('\n').filter((l) => l.startsWith('certmanager_certificate_info{'));
    const certificates = readFileSync('examples/cert-manager/certificates.yaml', 'utf8').match(
      /^kind: Certificate$/gm,
    )!.length;
    assert.equal(info.length, certificates);
    for (const line of info)
      for (const label of ['name', 'namespace', 'secret_name', 'issuer_name', 'issuer_kind', 'dns_names'])
        assert.match(line, new RegExp(`[{,]${label}="[^"]+"`), line);
  });
});
