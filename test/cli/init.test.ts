import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { assertGolden, withRenderTime } from '../support/golden.ts';
import { runCli } from '../support/runCli.ts';

const dir = join('test', 'fixtures', 'init');
const fixture = (name: string) => join(dir, name);
const WIDGETS = fixture('widgets.crd.yaml');
const GADGETS = fixture('gadgets.crds.yaml');

/** The series lines of an exposition (no HELP/TYPE). */
const series = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('init drafts a config from CRD files', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'init-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const [crds, objects] of [
    ['widgets.crd.yaml', 'widgets.objects.yaml'],
    ['gadgets.crds.yaml', 'gadgets.objects.yaml'],
  ] as const) {
    const base = crds.replace(/\.crds?\.yaml$/, '');
    it(`${crds}: the golden config, which check accepts without a warning and rbac and render use`, async () => {
      const init = await runCli(['init', fixture(crds)]);
      assert.equal(init.stderr, '');
      assert.equal(init.code, 0);
      assertGolden(init.stdout, fixture(`${base}.config.yaml`));

      const golden = fixture(`${base}.config.yaml`);
      const check = await runCli(['check', '--config', golden]);
      assert.equal(check.code, 0, check.stderr);
      assert.equal(check.stderr, '', 'check warns about the drafted config');

      const render = await runCli(['render', '--config', golden, fixture(objects)]);
      assert.equal(render.code, 0);
      assert.equal(render.stderr, '', 'rendering the sample objects counts object errors');
      assertGolden(withRenderTime(render.stdout), fixture(`${base}.render.txt`));

      // Every resource gets its real plural into the ClusterRole (not a guess from the kind).
      const rbac = await runCli(['rbac', '--config', golden]);
      assert.equal(rbac.code, 0, rbac.stderr);
      const rules = (parse(rbac.stdout) as { rules: { apiGroups: string[]; resources: string[] }[] }).rules;
      const config = parse(init.stdout) as {
        spec: { resources: { groupVersionKind: { group: string }; resourcePlural: string }[] };
      };
      for (const r of config.spec.resources) {
        const rule = rules.find((x) => x.apiGroups.includes(r.groupVersionKind.group));
        assert.ok(rule?.resources.includes(r.resourcePlural), `${r.resourcePlural} in the ClusterRole`);
      }
    });
  }

  it('a new object without status gives its info, age-free and spec series, is healthy, and no object error', async () => {
    const render = await runCli([
      'render',
      '--config',
      fixture('widgets.config.yaml'),
      fixture('widgets.objects.yaml'),
    ]);
    const green = series(render.stdout).filter((l) => l.includes('name="green"'));
    assert.deepEqual(
      green.filter((l) => !l.startsWith('acme_widget_health')).map((l) => l.slice(0, l.indexOf('{'))),
      ['acme_widget_info', 'acme_widget_spec_replicas'],
    );
    // kstatus: an object with no status is current.
    assert.ok(green.some((l) => l.startsWith('acme_widget_health{') && l.includes('state="healthy"} 1')));
    assert.equal(render.stderr, '');
  });

  it('every family of the drafted widget config gives a series for the running widget', async () => {
    const config = parse(readFileSync(fixture('widgets.config.yaml'), 'utf8')) as {
      spec: { resources: { metricNamePrefix: string; metrics: { name: string }[] }[] };
    };
    const render = await runCli([
      'render',
      '--config',
      fixture('widgets.config.yaml'),
      fixture('widgets.objects.yaml'),
    ]);
    const blue = series(render.stdout).filter((l) => l.includes('name="blue"'));
    for (const m of config.spec.resources[0]!.metrics) {
      const family = `${config.spec.resources[0]!.metricNamePrefix}_${m.name}`;
      assert.ok(
        blue.some((l) => l.startsWith(`${family}{`)),
        `${family} gives no series for the running widget`,
      );
    }
  });

  it('is deterministic: the same CRDs in any order give the same bytes', async () => {
    const a = await runCli(['init', WIDGETS, GADGETS]);
    const b = await runCli(['init', GADGETS, WIDGETS]);
    const c = await runCli(['init', GADGETS, WIDGETS]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.equal(b.stdout, c.stdout);
    const kinds = (
      parse(a.stdout) as { spec: { resources: { groupVersionKind: { group: string; kind: string } }[] } }
    ).spec.resources.map((r) => `${r.groupVersionKind.group}/${r.groupVersionKind.kind}`);
    assert.deepEqual(kinds, [
      'devices.acme.io/Cluster',
      'devices.acme.io/Gadget',
      'devices.acme.io/Moose',
      'fleet.acme.io/Cluster',
      'shop.acme.io/Widget',
    ]);
  });

  it('reads standard input for -, and a directory recursively, skipping files without a CRD there', async () => {
    const fromFile = await runCli(['init', WIDGETS]);
    const fromStdin = await runCli(['init', '-'], readFileSync(WIDGETS, 'utf8'));
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, fromFile.stdout);

    const fromDir = await runCli(['init', dir]);
    assert.equal(fromDir.code, 1, 'the bad/ directory holds CRDs that cannot be drafted from');
    assert.match(
      fromDir.stderr,
      /^note: test\/fixtures\/init\/widgets\.objects\.yaml: skipped, no CRD in it \(found Widget\)$/m,
    );
  });

  it('--output writes the file and says so on stderr only', async () => {
    const out = join(work, 'config.yaml');
    const r = await runCli(['init', WIDGETS, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `wrote ${out}: 1 resource, 14 metrics\n`);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(fixture('widgets.config.yaml'), 'utf8'));
    const bad = await runCli(['init', WIDGETS, '-o', join(work, 'missing', 'config.yaml')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --output .*missing\/config\.yaml: ENOENT/);
  });

  it('--version drafts another served version; an install manifest keeps only its CRDs', async () => {
    const r = await runCli(['init', '--version', 'v1alpha1', WIDGETS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# Widget \(shop\.acme\.io\/v1alpha1, the version asked for; namespaced\)/);
    assert.match(r.stdout, /- name: status_ready\n/);
    assert.doesNotMatch(r.stdout, /status_ready_replicas/, 'a v1 field in the v1alpha1 draft');

    const manifest = join(work, 'install.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      manifest,
      `${readFileSync(fixture('bad/not-a-crd.yaml'), 'utf8')}---\n${readFileSync(WIDGETS, 'utf8')}`,
    );
    const m = await runCli(['init', manifest]);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stderr, `note: ${manifest}: skipped 1 object that are not CRDs (Deployment)\n`);
    assert.equal(m.stdout, readFileSync(fixture('widgets.config.yaml'), 'utf8'));
  });
});

describe('init names what is wrong with bad input in one line and exits 1', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'not a CRD',
      [fixture('bad/not-a-crd.yaml')],
      /: no CustomResourceDefinition in it \(found Deployment\)$/,
    ],
    [
      'a v1beta1 CRD',
      [fixture('bad/v1beta1.crd.yaml')],
      /: olds\.acme\.io: apiextensions\.k8s\.io\/v1beta1 is not supported/,
    ],
    [
      'a CRD without a schema',
      [fixture('bad/no-schema.crd.yaml')],
      /: loose\.acme\.io: version v1 has no schema\.openAPIV3Schema$/,
    ],
    [
      'a storage version that is not served',
      [fixture('bad/storage-not-served.crd.yaml')],
      /: retireds\.acme\.io: the storage version v1 is not served; pass --version \(served: v2\)$/,
    ],
    [
      'a version not served',
      ['--version', 'v2', WIDGETS],
      /: widgets\.shop\.acme\.io: version v2 is not served \(served: v1alpha1, v1\)$/,
    ],
    ['a YAML error', [fixture('bad/invalid.yaml')], /: invalid YAML at line 4, column 1: /],
    ['an unreadable file', [fixture('bad/absent.yaml')], /: no such file or directory$/],
    [
      'a kind given twice',
      [WIDGETS, WIDGETS],
      /: shop\.acme\.io\/Widget is given twice \(also in .*widgets\.crd\.yaml\)$/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(['init', ...args]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^error: /);
      assert.match(lines[0]!, message);
      const where = args.find((a) => a.endsWith('.yaml'))!;
      assert.ok(lines[0]!.startsWith(`error: ${where}: `), `names the file: ${lines[0]}`);
    });
  }

  it('one line per bad input, and nothing drafted when any input is bad', async () => {
    const r = await runCli([
      'init',
      WIDGETS,
      fixture('bad/no-schema.crd.yaml'),
      fixture('bad/not-a-crd.yaml'),
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 2, r.stderr);
  });
});

describe('init usage errors exit 2', () => {
  for (const [what, args] of [
    ['no input', ['init']],
    ['--kubeconfig without --from-cluster', ['init', '--kubeconfig', 'k', WIDGETS]],
    ['a --from-cluster argument that is not GROUP/KIND', ['init', '--from-cluster', 'Widget']],
    ['an unknown option', ['init', '--kind', 'Widget', WIDGETS]],
  ] as const) {
    it(what, async () => {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /error: /);
    });
  }

  it('--version after the command names the CRD version, --version before it prints the bridge version', async () => {
    const before = await runCli(['--version']);
    assert.equal(before.code, 0);
    assert.match(before.stdout, /^crd-metrics-bridge /);
    const r = await runCli(['init', '--version', 'v1', WIDGETS]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^crd-metrics-bridge /);
  });
});
