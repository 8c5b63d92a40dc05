import { Option } from 'commander';
import type { Command } from 'commander';
import type { SeriesLimits } from '../engine/limits.ts';
import { parseCommaList, parseGoBool, parseGoDuration, parseGoInt } from './goFlagValues.ts';
import type { LogLevel } from './logOptions.ts';

/**
 * kube-state-metrics' flags on `run`, so a KSM Deployment keeps its args when only the image
 * changes. Flags that mean something for custom resources map to the bridge's options; flags
 * that change nothing here are accepted and reported once in the log; flags whose effect the
 * bridge cannot give are usage errors saying what to do instead. The mapping is documented in
 * docs/migrating-from-kube-state-metrics.md.
 */

/** The name under which inline config (`--custom-resource-state-config`) appears in messages. */
export const INLINE_CONFIG_NAME = '--custom-resource-state-config';

/** Accepted for compatibility; no effect here. The text says why, in the startup log. */
const NO_OPS: readonly { flags: string; why: string; value?: 'bool' | 'string' }[] = [
  {
    flags: '--enable-gzip-encoding',
    value: 'bool',
    why: 'responses are gzipped whenever the client accepts gzip',
  },
  {
    flags: '--use-apiserver-cache',
    value: 'bool',
    why: "the initial sync is a streaming list served from the API server's watch cache where it supports one",
  },
  {
    flags: '--metric-labels-allowlist',
    why: 'it selects labels of the built-in *_labels metrics; custom-resource labels come from the config',
  },
  {
    flags: '--metric-annotations-allowlist',
    why: 'it selects annotations of the built-in *_annotations metrics; custom-resource labels come from the config',
  },
  { flags: '--metric-opt-in-list', why: 'custom-resource families are never opt-in' },
  { flags: '--node', why: 'it shards pods by node; custom resources are sharded with --shard or --pod' },
  { flags: '--track-unscheduled-pods', value: 'bool', why: 'it applies to pods only' },
  {
    flags: '--auto-gomemlimit',
    value: 'bool',
    why: "it sizes Go's heap; size Node's with NODE_OPTIONS=--max-old-space-size",
  },
  {
    flags: '--auto-gomemlimit-ratio',
    why: "it sizes Go's heap; size Node's with NODE_OPTIONS=--max-old-space-size",
  },
  {
    flags: '--continue-without-config',
    value: 'bool',
    why: 'there is no kube-state-metrics options file here',
  },
  {
    flags: '--server-read-timeout',
    why: 'the bridge reads a request within 10s (docs/serving.md, "Shutdown and slow clients")',
  },
  {
    flags: '--server-read-header-timeout',
    why: 'the bridge reads request headers within 5s (docs/serving.md, "Shutdown and slow clients")',
  },
  {
    flags: '--server-idle-timeout',
    why: 'the bridge closes idle connections after 5s (docs/serving.md, "Shutdown and slow clients")',
  },
  // klog's flags, which KSM's command line carries: the bridge logs to stderr (--log.format).
  ...['--logtostderr', '--alsologtostderr', '--one_output', '--skip_headers', '--skip_log_headers']
    .concat(['--add_dir_header', '--legacy_stderr_threshold_behavior'])
    .map((flags) => ({
      flags,
      value: 'bool' as const,
      why: 'the bridge logs to stderr (--log.format, --log.level)',
    })),
  ...['--stderrthreshold', '--vmodule', '--log_backtrace_at', '--log_file_max_size'].map((flags) => ({
    flags,
    why: 'the bridge logs to stderr (--log.format, --log.level)',
  })),
];

/** Flags whose KSM effect the bridge does not give: a usage error with what to do instead. */
const REFUSED: readonly { flags: string; why: string }[] = [
  {
    flags: '--metric-allowlist',
    why: 'kube-state-metrics would keep only the matching custom-resource families; list only those metrics in the config instead',
  },
  {
    flags: '--metric-denylist',
    why: 'kube-state-metrics would drop the matching custom-resource families; remove those metrics from the config instead',
  },
  { flags: '--apiserver', why: 'put the API server in a kubeconfig and pass --kubeconfig' },
  { flags: '--log_dir', why: 'the bridge logs to stderr only' },
  { flags: '--log_file', why: 'the bridge logs to stderr only' },
];

function attributeName(flags: string): string {
  // Commander's camel-casing of a long flag (`--log_file` stays `log_file`).
  return flags.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function boolOption(flags: string, description: string): Option {
  return new Option(`${flags} [bool]`, description).preset('true').argParser(parseGoBool);
}

function parsePort(value: string): number {
  return parseGoInt(value, 0, 65535);
}

/** klog's `-v`/`--v`: `-v=2` reaches the parser as `=2` (a short flag's attached value). */
function parseVerbosity(value: string): number {
  return parseGoInt(value.replace(/^=/, ''), 0, 2 ** 31 - 1);
}

/** Adds the kube-state-metrics flags to `run`, hidden from its help (an epilogue names them). */
export function addKubeStateMetricsFlags(command: Command): Command {
  const hidden = (option: Option) => command.addOption(option.hideHelp());
  hidden(
    new Option(
      '--custom-resource-state-config-file <file>',
      'kube-state-metrics: the config file (--config)',
    ),
  );
  hidden(new Option('--custom-resource-state-config <yaml>', 'kube-state-metrics: the config, inline'));
  hidden(new Option('--port <port>', 'kube-state-metrics: main listener port').argParser(parsePort));
  hidden(new Option('--host <host>', 'kube-state-metrics: main listener host'));
  hidden(
    new Option('--telemetry-port <port>', 'kube-state-metrics: telemetry listener port').argParser(parsePort),
  );
  hidden(new Option('--telemetry-host <host>', 'kube-state-metrics: telemetry listener host'));
  hidden(new Option('--tls-config <file>', 'kube-state-metrics: the web config file (--web.config.file)'));
  hidden(
    new Option(
      '--object-limit <n>',
      'kube-state-metrics: objects per resource (--limits.resource-objects)',
    ).argParser((v) => parseGoInt(v, 0, Number.MAX_SAFE_INTEGER)),
  );
  hidden(
    new Option('--server-write-timeout <duration>', 'kube-state-metrics: --web.write-timeout').argParser(
      parseGoDuration,
    ),
  );
  hidden(
    new Option('-v, --v <level>', 'klog verbosity: 1 or more logs at debug level').argParser(parseVerbosity),
  );
  hidden(boolOption('--custom-resource-state-only', 'kube-state-metrics: custom resources only'));
  hidden(boolOption('--continue-without-custom-resource-state-config-file', 'kube-state-metrics'));
  hidden(new Option('--resources <list>', 'kube-state-metrics: built-in resources'));
  for (const n of NO_OPS)
    hidden(
      n.value === 'bool'
        ? boolOption(n.flags, 'kube-state-metrics (no effect)')
        : new Option(`${n.flags} <value>`, 'kube-state-metrics (no effect)'),
    );
  for (const r of REFUSED) hidden(new Option(`${r.flags} <value>`, 'kube-state-metrics (not supported)'));
  return command
    .addOption(
      new Option(
        '--namespaces <list>',
        'watch only these namespaces (comma-separated; every resource), as kube-state-metrics',
      ).argParser(parseCommaList),
    )
    .addOption(
      new Option(
        '--namespaces-denylist <list>',
        'leave out objects of these namespaces (field selector metadata.namespace!=NS), as kube-state-metrics',
      ).argParser(parseCommaList),
    );
}

/** A line for the startup log about a flag that was accepted. */
export interface FlagNotice {
  readonly level: 'info' | 'warn';
  readonly message: string;
}

/** What the kube-state-metrics flags given on the command line amount to. */
export interface KubeStateMetricsFlags {
  /** The config file (`--config` or `--custom-resource-state-config-file`). */
  readonly config?: string;
  /** Inline config text (`--custom-resource-state-config`), which wins over a file as in KSM. */
  readonly configText?: string;
  readonly listenAddress?: string;
  readonly telemetryListenAddress?: string;
  readonly webConfigFile?: string;
  readonly writeTimeoutMs?: number;
  readonly logLevel?: LogLevel;
  readonly namespaces?: readonly string[];
  readonly namespacesDenylist?: readonly string[];
  readonly limits?: Partial<SeriesLimits>;
  readonly notices: readonly FlagNotice[];
}

/** A command line that cannot be used as it is (exit 2). */
export class FlagUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagUsageError';
  }
}

/**
 * Resolves the kube-state-metrics flags given to `run` against its own flags. Throws
 * FlagUsageError for a refused flag or for a KSM flag given together with the bridge's own flag
 * for the same thing (which one was meant is not clear).
 */
export function resolveKubeStateMetricsFlags(command: Command): KubeStateMetricsFlags {
  const opts = command.opts<Record<string, unknown>>();
  const given = (name: string): boolean => command.getOptionValueSource(name) === 'cli';
  const value = <T>(name: string): T | undefined => (given(name) ? (opts[name] as T) : undefined);
  const clash = (ksm: string, ours: string, oursName: string) => {
    if (given(oursName))
      throw new FlagUsageError(`${ksm} and ${ours} both set the same thing; keep one of them`);
  };
  for (const r of REFUSED) {
    const v = value<string>(attributeName(r.flags));
    if (v !== undefined && v.trim() !== '') throw new FlagUsageError(`${r.flags} is not supported: ${r.why}`);
  }
  const notices: FlagNotice[] = [];
  const note = (level: FlagNotice['level'], message: string) => notices.push({ level, message });
  const out: { -readonly [K in keyof KubeStateMetricsFlags]: KubeStateMetricsFlags[K] } = { notices };

  const file = value<string>('customResourceStateConfigFile');
  const inline = value<string>('customResourceStateConfig');
  if (file !== undefined || inline !== undefined) {
    if (given('config'))
      throw new FlagUsageError(
        "--config is this bridge's config file, and kube-state-metrics' --config (its options file) is not supported: " +
          'give the config with --config or --custom-resource-state-config-file alone, and the options as flags',
      );
  }
  if (file !== undefined) out.config = file;
  if (inline !== undefined) {
    out.configText = inline;
    if (file !== undefined)
      note(
        'info',
        `${INLINE_CONFIG_NAME} is used and --custom-resource-state-config-file ignored, as in kube-state-metrics`,
      );
  }

  const address = (
    hostName: string,
    portName: string,
    defaultPort: number,
    ours: string,
    oursName: string,
  ) => {
    const host = value<string>(hostName);
    const port = value<number>(portName);
    if (host === undefined && port === undefined) return undefined;
    clash(host !== undefined ? `--${kebab(hostName)}` : `--${kebab(portName)}`, ours, oursName);
    const h = host ?? '';
    return `${h.includes(':') ? `[${h}]` : h}:${port ?? defaultPort}`;
  };
  out.listenAddress = address('host', 'port', 8080, '--web.listen-address', 'web.listenAddress');
  out.telemetryListenAddress = address(
    'telemetryHost',
    'telemetryPort',
    8081,
    '--telemetry.listen-address',
    'telemetry.listenAddress',
  );

  const tls = value<string>('tlsConfig');
  if (tls !== undefined) {
    clash('--tls-config', '--web.config.file', 'web.config.file');
    if (tls !== '') out.webConfigFile = tls;
  }
  const writeTimeout = value<number>('serverWriteTimeout');
  if (writeTimeout !== undefined) {
    clash('--server-write-timeout', '--web.write-timeout', 'web.writeTimeout');
    out.writeTimeoutMs = writeTimeout;
  }
  const objectLimit = value<number>('objectLimit');
  if (objectLimit !== undefined) {
    clash('--object-limit', '--limits.resource-objects', 'limits.resourceObjects');
    out.limits = { resourceObjects: objectLimit };
  }
  const verbosity = value<number>('v');
  if (verbosity !== undefined) {
    clash('-v', '--log.level', 'log.level');
    // KSM logs per-object errors of a metric with errorLogV N at klog V(N); the bridge logs those
    // at debug level, so any verbosity above 0 shows them.
    out.logLevel = verbosity > 0 ? 'debug' : 'info';
  }
  const namespaces = value<string[]>('namespaces');
  if (namespaces !== undefined && namespaces.length > 0) out.namespaces = namespaces;
  const denylist = value<string[]>('namespacesDenylist');
  if (denylist !== undefined && denylist.length > 0) out.namespacesDenylist = denylist;

  const only = value<boolean>('customResourceStateOnly');
  if (only === false)
    note(
      'warn',
      '--custom-resource-state-only=false: kube-state-metrics would also serve its built-in resources; the bridge serves custom resources only',
    );
  const resources = value<string>('resources');
  if (resources !== undefined && resources.trim() !== '' && only !== true)
    note(
      'warn',
      `--resources=${resources}: kube-state-metrics would also serve these built-in resources; the bridge serves custom resources only`,
    );
  if (value<boolean>('continueWithoutCustomResourceStateConfigFile') === true)
    note(
      'info',
      '--continue-without-custom-resource-state-config-file has no effect: the config file must exist at start (a later change is reloaded)',
    );
  for (const n of NO_OPS) {
    if (given(attributeName(n.flags))) note('info', `${n.flags} has no effect: ${n.why}`);
  }
  return out;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The flag names, for the epilogue of `run --help` and for did-you-mean. */
export const KUBE_STATE_METRICS_FLAGS_HELP =
  'kube-state-metrics flags are accepted with its meaning, so a KSM Deployment keeps its args: ' +
  '--custom-resource-state-config-file, --custom-resource-state-config, --port, --host, ' +
  '--telemetry-port, --telemetry-host, --tls-config, --object-limit, --server-write-timeout, -v; ' +
  '--custom-resource-state-only, --enable-gzip-encoding and others that change nothing here are ' +
  'ignored (docs/migrating-from-kube-state-metrics.md).';
