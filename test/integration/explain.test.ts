// `explain TYPE/NAME` and a running bridge's `/explain` against a real kube-apiserver (etcd, RBAC):
// the same lines as the offline mode for the same object, and the reasons only a cluster can
// give: a CRD version not served, RBAC forbidding the get or the list.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';

const dir = path.join('test', 'fixtures', 'explain');
const fixture = (name: string) => path.join(dir, name);
const WIDGETS = fixture('widgets.config.yaml');

/** The line about one family, trimmed. */
function familyLine(stdout: string, family: string): string {
  const found = stdout.split('\n').filter((l) => l.startsWith(`    ${family} (`));
  assert.equal(found.length, 1, `one line for ${family} in:\n${stdout}`);
  return found[0]!.trim();
}

describe('explain against a real kube-apiserver', () => {
  let api: KubeApiserverHandle;
  let work: string;
  let bridge: BridgeHandle | undefined;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const explain = (args: string[], kubeconfig = api.adminKubeconfigPath) =>
    runCli(['explain', '--kubeconfig', kubeconfig, ...args]);

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'explain-cluster-'));
    api = await startKubeApiserver();
    await kubectl(['apply', '-f', path.join(repoRoot, fixture('widgets.crd.yaml'))]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.example.com']);
    await kubectl(['create', 'namespace', 'shop']);
    await kubectl(['apply', '-f', path.join(repoRoot, fixture('live.yaml'))]);
  });

  after(async () => {
    await bridge?.stop();
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('TYPE/NAME -n NS gives the lines the offline mode gives for the same object', async () => {
    const out = await explain(['--config', WIDGETS, 'widget/web', '-n', 'default']);
    assert.equal(out.stderr, '');
    assert.equal(out.code, 1);
    const lines = out.stdout.split('\n');
    assert.equal(lines[0], `Widget example.com/v1 default/web (${api.url})`);
    assert.equal(
      familyLine(out.stdout, 'kube_customresource_phase'),
      `kube_customresource_phase (stateset): 3 series (error): state "Bogus" at [status,phase] is not in list [Pending, Running, Failed]: every series is 0 (${WIDGETS}:18)`,
    );
    assert.ok(
      lines.includes(
        '      kube_customresource_replicas{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="web",namespace="default"} 3',
      ),
      out.stdout,
    );
    // kubectl's other spellings name the same object.
    for (const spelling of ['widgets.example.com/web', 'Widget.example.com/web', 'widgets/web']) {
      const again = await explain(['--config', WIDGETS, spelling]);
      assert.equal(again.stdout, out.stdout, spelling);
    }
  });

  it('a new object with no status: only expected reasons, exit 0', async () => {
    const out = await explain(['--config', fixture('status.config.yaml'), 'widget/new', '-n', 'shop']);
    assert.equal(out.stderr, '');
    assert.match(
      familyLine(out.stdout, 'kube_customresource_replicas'),
      /^kube_customresource_replicas \(gauge\): no series \(expected\): path \[status,replicas\] stops at "status": the object has no key "status" \(it has: apiVersion, kind, metadata\); the object has no status yet \(a new object\)/,
    );
    assert.equal(out.code, 0);
  });

  it('a CRD version the cluster does not serve', async () => {
    const out = await explain(['--config', fixture('unserved.config.yaml'), 'widget/web']);
    assert.equal(
      familyLine(out.stdout, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): no series (error): the CRD version v1alpha1 is not served by the cluster (example.com serves: v1); the bridge cannot list it (${fixture('unserved.config.yaml')}:5)`,
    );
    assert.equal(out.code, 1);
    // With the served version configured too, the object is explained at that one.
    const both = await explain(['--config', fixture('twoversions.config.yaml'), 'widget/web']);
    assert.equal(
      familyLine(both.stdout, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): 1 series (${fixture('twoversions.config.yaml')}:15)`,
    );
    assert.doesNotMatch(both.stdout, /not served/);
    assert.equal(both.code, 0);
  });

  it('an object or type that is not there: one line on stderr, exit 1', async () => {
    const missing = await explain(['--config', WIDGETS, 'widget/nothere']);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^error: Widget default\/nothere not found in example.com\/v1 \(404 /);
    assert.equal(missing.code, 1);
    const unknown = await explain(['--config', WIDGETS, 'gizmo/web']);
    assert.equal(
      unknown.stderr,
      `error: gizmo/web: no configured kind of example.com is named gizmo (configured: example.com/v1/Widget at ${WIDGETS}:4)\n`,
    );
    assert.equal(unknown.code, 1);
  });

  it('RBAC: the get forbidden, then the list the bridge needs forbidden', async () => {
    const kubeconfig = await api.createServiceAccountKubeconfig('explain-test', 'viewer');
    const denied = await explain(['--config', WIDGETS, 'widget/web', '-n', 'default'], kubeconfig);
    assert.match(
      familyLine(denied.stdout, 'kube_customresource_replicas'),
      new RegExp(
        `^kube_customresource_replicas \\(gauge\\): no series \\(error\\): RBAC forbids the get: 403 widgets.example.com "web" is forbidden: .*\\(${WIDGETS.replaceAll('.', '\\.')}:4\\)$`,
      ),
    );
    assert.equal(denied.code, 1);

    // Allowed to get this one object, not to list: what the bridge would serve is nothing.
    await kubectl([
      'create',
      'role',
      'get-web',
      '-n',
      'default',
      '--verb=get',
      '--resource=widgets.example.com',
    ]);
    await kubectl([
      'create',
      'rolebinding',
      'get-web',
      '-n',
      'default',
      '--role=get-web',
      '--serviceaccount=explain-test:viewer',
    ]);
    const listDenied = await explain(['--config', WIDGETS, 'widget/web', '-n', 'default'], kubeconfig);
    assert.match(
      familyLine(listDenied.stdout, 'kube_customresource_replicas'),
      /^kube_customresource_replicas \(gauge\): no series \(error\): RBAC forbids the list the bridge needs \(with the same credentials it would serve nothing\): 403 widgets\.example\.com is forbidden: .* cannot list resource "widgets" in API group "example\.com" at the cluster scope/,
    );
    assert.equal(listDenied.code, 1);
  });

  it('/explain on the telemetry listener of a running bridge, behind the same auth as /metrics', async () => {
    const web = path.join(work, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  admin: ${bcrypt.hashSync('s3cret', 10)}\n`);
    bridge = await startBridge({
      config: path.join(repoRoot, fixture('status.config.yaml')),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`, `--web.config.file=${web}`],
      waitForReady: false,
    });
    const authorization = `Basic ${Buffer.from('admin:s3cret').toString('base64')}`;
    const ask = (query: string, headers: Record<string, string> = { authorization }) =>
      httpRequest(`${bridge!.telemetryUrl}/explain?${query}`, { headers, timeoutMs: 15_000 });

    const anonymous = await ask('resource=widgets.example.com&namespace=shop&name=new', {});
    assert.equal(anonymous.status, 401);
    const metrics = await httpRequest(`${bridge.telemetryUrl}/metrics`);
    assert.equal(metrics.status, 401, 'the same auth as /metrics');

    const answer = await ask('resource=widgets.example.com&namespace=shop&name=new');
    assert.equal(answer.status, 200, answer.body);
    assert.match(String(answer.headers['content-type']), /^text\/plain/);
    const lines = answer.body.trimEnd().split('\n');
    assert.equal(lines[0], `Widget example.com/v1 shop/new (${api.url})`);
    assert.match(
      lines[2]!,
      /^    kube_customresource_replicas \(gauge\): no series \(expected\): path \[status,replicas\] stops at "status"/,
    );
    assert.equal(lines.at(-1), 'result: ok');

    const web2 = await ask('resource=widget&namespace=default&name=web');
    assert.equal(web2.status, 200);
    assert.match(
      web2.body,
      /kube_customresource_phase \(stateset\): 3 series \(error\): state "Bogus" at \[status,phase\]/,
    );
    assert.equal(web2.body.trimEnd().split('\n').at(-1), 'result: error');

    const missing = await ask('resource=widget&namespace=default&name=nothere');
    assert.equal(missing.status, 422);
    assert.match(missing.body, /^error: Widget default\/nothere not found/);
    const bad = await ask('resource=&name=web');
    assert.equal(bad.status, 400);
  });
});
