import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import type { RunOptions } from '../../src/cli/runCommand.ts';
import { httpRequest } from '../harness/processes.ts';
import { runCli } from '../support/runCli.ts';
import { spawnCli } from '../support/spawnCli.ts';
import { until } from '../support/until.ts';

interface Parsed {
  code: number;
  stderr: string;
  options: RunOptions | undefined;
}

/** Runs the CLI with a `run` that only records the options it was given. */
async function parse(argv: string[]): Promise<Parsed> {
  let stderr = '';
  let options: RunOptions | undefined;
  const code = await main(argv, { stdout: () => undefined, stderr: (t) => void (stderr += t) }, (o) => {
    options = o;
    return Promise.resolve(0);
  });
  return { code, stderr, options };
}

async function parsed(argv: string[]): Promise<RunOptions> {
  const r = await parse(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  assert.ok(r.options, argv.join(' '));
  return r.options;
}

/** Notices about flags: every run also logs its budgets across objects (test/cli/budgetFlags.test.ts). */
const flagNotices = (o: RunOptions) =>
  (o.notices ?? []).filter((n) => !n.message.startsWith('budgets across objects'));

const CONFIG = '--custom-resource-state-config-file=/etc/customresourcestate/config.yaml';

/**
 * Every flag kube-state-metrics v2.20 defines (pkg/options/options.go, plus klog's), with a value
 * of its type. A KSM Deployment may carry any of them.
 */
const KSM_FLAGS: readonly string[] = [
  '--custom-resource-state-only=true',
  '--enable-gzip-encoding=true',
  '--track-unscheduled-pods=false',
  '--use-apiserver-cache=true',
  '--object-limit=100',
  '--shard=0',
  '--port=8080',
  '--telemetry-port=8081',
  '--total-shards=1',
  '--auth-filter=false',
  '--auto-gomemlimit=true',
  '--auto-gomemlimit-ratio=0.9',
  '--custom-resource-state-config=',
  '--continue-without-custom-resource-state-config-file=true',
  '--host=::',
  '--kubeconfig=/opt/k8s/.kube/config',
  '--pod-namespace=',
  '--pod=',
  '--tls-config=',
  '--telemetry-host=::',
  '--continue-without-config=true',
  '--node=',
  '--metric-annotations-allowlist=pods=[*]',
  '--metric-labels-allowlist=pods=[app]',
  '--metric-allowlist=',
  '--metric-denylist=',
  '--metric-opt-in-list=kube_pod_tolerations',
  '--namespaces=',
  '--namespaces-denylist=',
  '--resources=',
  '--server-read-timeout=60s',
  '--server-write-timeout=60s',
  '--server-idle-timeout=5m0s',
  '--server-read-header-timeout=5s',
  '--apiserver=',
  '--v=2',
  '--logtostderr=true',
  '--alsologtostderr=false',
  '--one_output=false',
  '--skip_headers=false',
  '--skip_log_headers=false',
  '--add_dir_header=false',
  '--legacy_stderr_threshold_behavior=false',
  '--stderrthreshold=INFO',
  '--vmodule=',
  '--log_backtrace_at=',
  '--log_file_max_size=1800',
  '--log_dir=',
  '--log_file=',
];

describe("kube-state-metrics' flags on the command line", () => {
  it("the KSM chart's args for a custom-resource-only KSM, with no command, mean run", async () => {
    // charts/kube-state-metrics with collectors: [], customResourceState.enabled and
    // selfMonitor.telemetryPort, as its ci/02-custom-resource-state-only-values.yaml.
    const o = await parsed([
      '--custom-resource-state-only=true',
      '--port=8080',
      '--telemetry-port=8081',
      CONFIG,
    ]);
    assert.equal(o.config, '/etc/customresourcestate/config.yaml');
    assert.equal(o.configText, undefined);
    assert.equal(o.listenAddress, ':8080');
    assert.equal(o.telemetryListenAddress, ':8081');
    assert.equal(o.source, 'kubernetes');
    assert.deepEqual(flagNotices(o), []);
  });

  it('accepts every flag KSM v2.20 defines (no "unknown option")', async () => {
    for (const flag of KSM_FLAGS) {
      const r = await parse([CONFIG, flag]);
      assert.equal(r.code, 0, `${flag}: ${r.stderr}`);
    }
  });

  it("reads values as KSM's parser does: --flag=value, --flag value, bare booleans, -v forms", async () => {
    const spaced = await parsed(['--port', '9090', '--host', '127.0.0.1', CONFIG]);
    assert.equal(spaced.listenAddress, '127.0.0.1:9090');
    assert.equal((await parsed(['--host=::1', CONFIG])).listenAddress, '[::1]:8080');
    assert.equal((await parsed(['--telemetry-host=0.0.0.0', CONFIG])).telemetryListenAddress, '0.0.0.0:8081');
    assert.equal((await parsed(['--auth-filter', CONFIG])).authFilter, true);
    assert.equal((await parsed(['--auth-filter=true', CONFIG])).authFilter, true);
    assert.equal((await parsed(['--auth-filter=F', CONFIG])).authFilter, false);
    assert.equal((await parsed([CONFIG])).authFilter, false);
    for (const v of [['-v=2'], ['-v', '2'], ['-v2'], ['--v=2'], ['--v', '3']])
      assert.equal((await parsed([CONFIG, ...v])).logLevel, 'debug', v.join(' '));
    assert.equal((await parsed([CONFIG, '--v=0'])).logLevel, 'info');
    assert.equal((await parsed([CONFIG, '--server-write-timeout=1m30s'])).writeTimeoutMs, 90_000);
    assert.equal((await parsed([CONFIG, '--object-limit=7'])).limits?.resourceObjects, 7);
    assert.equal((await parsed([CONFIG, '--tls-config=/etc/web.yaml'])).webConfigFile, '/etc/web.yaml');
    assert.equal((await parsed([CONFIG, '--kubeconfig=/k'])).kubeconfig, '/k');
    const sharded = await parsed([CONFIG, '--shard=1', '--total-shards=3']);
    assert.deepEqual([sharded.shard, sharded.totalShards], [1, 3]);
    const auto = await parsed([CONFIG, '--pod=ksm-0', '--pod-namespace=monitoring']);
    assert.deepEqual([auto.pod, auto.podNamespace], ['ksm-0', 'monitoring']);
  });

  it('namespace lists: comma-separated, trimmed, repeated flags add up, empty means all', async () => {
    const o = await parsed([
      CONFIG,
      '--namespaces=a, b,',
      '--namespaces',
      'c',
      '--namespaces-denylist=kube-system',
    ]);
    assert.deepEqual(o.namespaces, ['a', 'b', 'c']);
    assert.deepEqual(o.namespacesDenylist, ['kube-system']);
    const all = await parsed([CONFIG, '--namespaces=', '--namespaces-denylist=']);
    assert.equal(all.namespaces, undefined);
    assert.equal(all.namespacesDenylist, undefined);
  });

  it('inline config wins over the file, as in KSM, and is named in messages', async () => {
    const o = await parsed([CONFIG, '--custom-resource-state-config=spec: {resources: []}']);
    assert.equal(o.configText, 'spec: {resources: []}');
    assert.equal(o.config, '--custom-resource-state-config');
    assert.match(o.notices?.[0]?.message ?? '', /--custom-resource-state-config is used/);
  });

  it('flags with no effect here are logged once each, saying why', async () => {
    const o = await parsed([
      CONFIG,
      '--enable-gzip-encoding',
      '--auto-gomemlimit',
      '--resources=pods',
      '--custom-resource-state-only=false',
    ]);
    const messages = flagNotices(o).map((n) => `${n.level}: ${n.message}`);
    assert.deepEqual(messages, [
      'warn: --custom-resource-state-only=false: kube-state-metrics would also serve its built-in resources; the bridge serves custom resources only',
      'warn: --resources=pods: kube-state-metrics would also serve these built-in resources; the bridge serves custom resources only',
      'info: --enable-gzip-encoding has no effect: responses are gzipped whenever the client accepts gzip',
      "info: --auto-gomemlimit has no effect: it sizes Go's heap; size Node's with NODE_OPTIONS=--max-old-space-size",
    ]);
  });

  it('flags whose KSM effect the bridge does not give, and two flags for one thing: exit 2, one line', async () => {
    const cases: [string[], RegExp][] = [
      [
        [CONFIG, '--metric-denylist=kube_customresource_.*'],
        /^error: --metric-denylist is not supported: .*remove those metrics from the config/,
      ],
      [[CONFIG, '--metric-allowlist=x'], /^error: --metric-allowlist is not supported/],
      [[CONFIG, '--apiserver=https://k:6443'], /^error: --apiserver is not supported: .*--kubeconfig/],
      [[CONFIG, '--log_file=/tmp/x'], /^error: --log_file is not supported: the bridge logs to stderr only/],
      [
        [CONFIG, '--port=1', '--web.listen-address=:2'],
        /^error: --port and --web\.listen-address both set the same thing/,
      ],
      [
        [CONFIG, '--telemetry-host=::', '--telemetry.listen-address=:2'],
        /^error: --telemetry-host and --telemetry\.listen-address/,
      ],
      [[CONFIG, '--tls-config=a', '--web.config.file=b'], /^error: --tls-config and --web\.config\.file/],
      [[CONFIG, '-v=1', '--log.level=warn'], /^error: -v and --log\.level/],
      [
        [CONFIG, '--config=options.yaml'],
        /^error: --config is this bridge's config file, and kube-state-metrics' --config .* is not supported/,
      ],
      [
        ['--port=8080'],
        /^error: required option '-c, --config <file>' not specified \(or --custom-resource-state-config-file\)\n/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await parse(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.match(r.stderr, /\nrun 'crd-metrics-bridge run --help' for usage\n$/);
      assert.equal(r.stderr.split('\n').length, 3, r.stderr);
    }
  });

  it('a misspelt KSM flag: reported before the missing config, with the right name', async () => {
    const r = await parse(['--custom-resource-state-confg-file=/etc/x.yaml', '--port=8080']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "error: unknown option '--custom-resource-state-confg-file' (did you mean --custom-resource-state-config-file?)\n" +
        "run 'crd-metrics-bridge run --help' for usage\n",
    );
    // Single-dash long flags are refused, as by KSM's parser (pflag reads -port as -p -o -r -t).
    const single = await parse([CONFIG, '-port=8080']);
    assert.equal(single.code, 2);
    assert.match(single.stderr, /^error: unknown option '-port'\n/);
  });

  it('bad values of KSM flags are invalid input (exit 1), as bad values of our own', async () => {
    for (const [flag, message] of [
      ['--port=http', /'--port <port>' argument 'http' is invalid\. expected an integer from 0 to 65535/],
      ['--port=70000', /expected an integer from 0 to 65535/],
      ['--custom-resource-state-only=yes', /argument 'yes' is invalid\. expected true or false/],
      ['--server-write-timeout=1 minute', /expected a duration/],
      ['-v=high', /expected an integer/],
      ['--object-limit=-1', /expected an integer from 0/],
    ] as const) {
      const r = await parse([CONFIG, flag]);
      assert.equal(r.code, 1, flag);
      assert.match(r.stderr, message, flag);
    }
  });

  it('the root keeps its own -v and --help; `version` and other commands are unchanged', async () => {
    const version = await parse(['-v']);
    assert.equal(version.code, 0);
    assert.equal(version.options, undefined);
    const check = await parse(['check', '-v=2']);
    assert.equal(check.code, 2, 'check has no -v');
    assert.equal(check.options, undefined);
  });
});

describe('inline config (--custom-resource-state-config), run for real', () => {
  it('an invalid one is reported under the flag name, with line and column, exit 1', async () => {
    const r = await runCli([
      '--custom-resource-state-config=spec:\n  resources:\n    - groupVersionKind: { group: a.io, version: v1, kind: Foo }\n      metrcs: []\n',
      '--source=files:examples/backup',
      '--port=1',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: --custom-resource-state-config:4:7: .*metrcs/m);
  });

  it('a valid one serves, with no file behind it', async () => {
    const config = readFileSync('examples/backup/config.yaml', 'utf8');
    const cli = spawnCli([
      `--custom-resource-state-config=${config}`,
      '--source=files:examples/backup',
      '--host=127.0.0.1',
      '--port=0',
      '--telemetry-host=127.0.0.1',
      '--telemetry-port=0',
    ]);
    try {
      const line = await until('the startup line', () =>
        Promise.resolve(cli.stdout().includes('\n') ? cli.stdout() : undefined),
      );
      const url = /open (\S+)/.exec(line)?.[1];
      assert.ok(url, line);
      const body = (await httpRequest(url)).body;
      assert.match(
        body,
        /^backup_size_bytes\{namespace="default",name="test-backup",target="s3:\/\/my-bucket"\} 1048576$/m,
      );
    } finally {
      assert.equal((await cli.signal('SIGTERM')).code, 0, cli.stderr());
    }
  });
});
