import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { didYouMean } from '../config/didYouMean.ts';
import { processIo } from './CommandIo.ts';
import type { CommandIo } from './CommandIo.ts';
import { parseGoDuration } from './goFlagValues.ts';
import { DEFAULT_GZIP_MAX_STALENESS_MS } from '../exposition/GzipLookahead.ts';
import {
  addKubeStateMetricsFlags,
  FlagUsageError,
  INLINE_CONFIG_NAME,
  KUBE_STATE_METRICS_FLAGS_HELP,
  resolveKubeStateMetricsFlags,
} from './ksmFlags.ts';
import type { KubeStateMetricsFlags } from './ksmFlags.ts';
import { LOG_FORMATS, LOG_LEVELS } from './logOptions.ts';
import type { LogFormat, LogLevel } from './logOptions.ts';
import type { RunOptions } from './runCommand.ts';
import { addListenerSecurityFlags, listenerSecurityFlags, parseInteger } from './runFlags.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { versionLine } from '../version.ts';
import { BUDGET_NAMES, DEFAULT_LIMITS, HEAP_LIMIT_BYTES, LIMIT_NAMES, limitKebab } from '../engine/limits.ts';
import type { SeriesLimits } from '../engine/limits.ts';

const LIMIT_HELP: Readonly<Record<keyof SeriesLimits, string>> = {
  objectSeries: 'series one object may produce',
  objectLabelBytes: "total length of one object's label names and values",
  labelValueLength: 'length of one label value',
  familySeries: 'series one family may hold across objects',
  resourceObjects: 'objects kept per resource',
  aggregateGroups: 'groups one aggregate family may expose; more fold into one overflow series',
  celCost: 'cost of one CEL evaluation (one per node evaluated and per list element iterated)',
  totalSeries: 'series served by the process; over it the newest objects of a namespace give way first',
  totalSeriesBytes: 'bytes of sample lines served by the process (about a text scrape)',
  namespaceSeries: 'series served for the objects of one namespace; over it its newest objects are dropped',
  namespaceSeriesBytes: 'bytes of sample lines served for the objects of one namespace',
};

const isBudget = (name: string) => (BUDGET_NAMES as readonly string[]).includes(name);

/** The `--limits.*` flags, shared by `render` and `run` (a resource's config `limits` win). */
function addLimitOptions(command: Command): Command {
  for (const name of LIMIT_NAMES) {
    command.option(
      `--limits.${limitKebab(name)} <n>`,
      isBudget(name)
        ? `${LIMIT_HELP[name]} (0 = unlimited; default ${DEFAULT_LIMITS[name]}, derived from the heap limit of ${Math.round(HEAP_LIMIT_BYTES / 2 ** 20)} MiB: see docs/config.md, "Budgets across objects")`
        : `${LIMIT_HELP[name]}; over it the object is dropped (0 = unlimited; default ${DEFAULT_LIMITS[name]})`,
      parseNonNegativeInt,
    );
  }
  return command;
}

/** The startup log line that says which budgets across objects apply, and where they come from. */
export function budgetNotice(flags: Partial<SeriesLimits>): string {
  const parts = BUDGET_NAMES.map((name) => {
    const value = flags[name] ?? DEFAULT_LIMITS[name];
    const shown = value === 0 ? 'unlimited' : String(value);
    return `${limitKebab(name)}=${shown}${flags[name] === undefined ? '' : ' (flag)'}`;
  });
  return `budgets across objects: ${parts.join(', ')}; defaults derived from the heap limit of ${Math.round(HEAP_LIMIT_BYTES / 2 ** 20)} MiB (--max-old-space-size)`;
}

function limitsFrom(opts: Record<string, unknown>): Partial<SeriesLimits> {
  const out: Partial<Record<keyof SeriesLimits, number>> = {};
  for (const name of LIMIT_NAMES) {
    const v = opts[`limits.${name}`];
    if (typeof v === 'number') out[name] = v;
  }
  return out;
}

/**
 * Exit code for a command line that cannot be used as written: an unknown or unsupported command
 * or option, a missing option or argument, two options that set the same thing. A bad value of a
 * known flag is invalid input instead (exit 1), like a bad config.
 */
const USAGE_ERROR = 2;

/** What `run` does with its parsed options (tests pass their own to see the options). */
export type RunCommand = (options: RunOptions, io: CommandIo) => Promise<number>;
const INVALID_INPUT = 1;
/** CommanderError code of the usage errors raised by the actions themselves. */
const USAGE_CODE = 'crd-metrics-bridge.usage';

const CONFIG_FLAGS = '-c, --config <file>';
const CONFIG_HELP = 'CustomResourceStateMetrics config file (YAML)';

/**
 * `--config` is checked in the action rather than by commander, so that an unknown option (a
 * misspelt `--config` among them) is reported first: commander checks required options before
 * unknown ones.
 */
function requireConfig(command: Command, config: unknown, alternative = ''): string {
  if (typeof config === 'string') return config;
  return command.error(`error: required option '${CONFIG_FLAGS}' not specified${alternative}`, {
    exitCode: USAGE_ERROR,
    code: USAGE_CODE,
  });
}

/**
 * Builds the command tree; actions store their exit code in `result`. Actions import their command
 * module dynamically so that `--help`, `--version` and `check` load only what they use.
 */
function program(io: CommandIo, result: { code: number }, runner: RunCommand | undefined): Command {
  const root = new Command('crd-metrics-bridge')
    .description(
      'Turns the state of Kubernetes custom resources into metrics (kube-state-metrics custom-resource-state config, extended with CEL), served on a Prometheus endpoint and pushed as OTLP.',
    )
    .option('-v, --version', 'print the version, git revision and Node.js version')
    // Root options only before the command: `run -v 2` is kube-state-metrics' verbosity.
    .enablePositionalOptions()
    // Commander wraps descriptions to this width; subcommands inherit it.
    .configureHelp({ helpWidth: helpWidth(io) })
    .exitOverride();
  root.addHelpText(
    'after',
    "\nOptions with no command mean run, as kube-state-metrics' image takes its flags.",
  );
  root.on('option:version', () => {
    io.stdout(versionLine() + '\n');
    throw new CommanderError(0, 'commander.version', 'version printed');
  });

  root
    .command('version')
    .description('Print the version, git revision and Node.js version.')
    .action(() => {
      io.stdout(versionLine() + '\n');
    });

  root
    .command('check')
    .description(
      'Validate a config file: exit 0 with a summary, or 1 listing every error with file, line and column.',
    )
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .action(async (opts: { config?: string }, command: Command) => {
      const config = requireConfig(command, opts.config);
      const { checkCommand } = await import('./checkCommand.ts');
      result.code = await checkCommand({ config }, io);
    });

  const render = root
    .command('render')
    .description(
      'Print the metric families a config gives for objects read from YAML/JSON files (multi-document YAML, kind: List, directories read recursively; - reads standard input). Use it to test a config before deploying it.',
    )
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .addOption(
      new Option('-f, --format <format>', 'exposition format')
        .choices(['text', 'openmetrics'])
        .default('text'),
    )
    .argument('<paths...>', 'object files or directories, or - for standard input');
  addLimitOptions(render).action(
    async (
      paths: string[],
      opts: { config?: string; format: ExpositionFormat } & Record<string, unknown>,
      command: Command,
    ) => {
      const config = requireConfig(command, opts.config);
      const { renderCommand } = await import('./renderCommand.ts');
      result.code = await renderCommand({ config, format: opts.format, paths, limits: limitsFrom(opts) }, io);
    },
  );

  root
    .command('init')
    .description(
      'Draft a commented config from CRDs: from manifest files (multi-document YAML, kind: List, directories; - reads standard input) or, with --from-cluster, for GROUP/KIND (or GROUP/*) from the cluster. Same CRDs in, same config out.',
    )
    .argument(
      '<inputs...>',
      'CRD files or directories (- for standard input), or GROUP/KIND with --from-cluster',
    )
    .option('--from-cluster', 'read the CRDs of the GROUP/KIND arguments from the cluster', false)
    .option('--version <version>', "draft for this version of each CRD (default: the CRD's storage version)")
    .option('-o, --output <file>', 'write the config to this file instead of standard output')
    .option(
      '--kubeconfig <file>',
      'with --from-cluster: kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
    )
    .option('--context <name>', 'with --from-cluster: kubeconfig context to use')
    .action(
      async (
        inputs: string[],
        opts: {
          fromCluster: boolean;
          version?: string;
          output?: string;
          kubeconfig?: string;
          context?: string;
        },
      ) => {
        const { initCommand } = await import('./initCommand.ts');
        result.code = await initCommand({ inputs, ...opts }, io);
      },
    );

  const explain = root
    .command('explain')
    .description(
      'Say why objects give (or do not give) each series: for every family of every resource an object matches, its series or the one reason it gives none, with the config file:line. Objects from YAML/JSON files (- reads standard input), or TYPE/NAME (kubectl spelling: widget/web, widgets.example.com/web) fetched from the cluster. Exit 0 when every family gave series or none for an expected reason, 1 for an error in an object or the config.',
    )
    .argument(
      '<objects...>',
      'object files or directories (- for standard input), or TYPE/NAME of a live object',
    )
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option('-n, --namespace <namespace>', 'with TYPE/NAME: the namespace of the object')
    .option('--shard <n>', "explain as this shard (0-based) would, as run's --shard", parseInteger)
    .option('--total-shards <n>', "explain as one of this many shards, as run's --total-shards", parseInteger)
    .option(
      '--kubeconfig <file>',
      'with TYPE/NAME: kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
    )
    .option('--context <name>', 'with TYPE/NAME: kubeconfig context to use')
    .addHelpText(
      'after',
      '\nExamples:\n  crd-metrics-bridge explain --config config.yaml widget.yaml\n  kubectl get widget web -o yaml | crd-metrics-bridge explain --config config.yaml -\n  crd-metrics-bridge explain --config config.yaml widgets.example.com/web -n shop\n\nA running bridge answers the same on its telemetry listener:\n  /explain?resource=widgets.example.com&namespace=shop&name=web',
    );
  addLimitOptions(explain).action(
    async (inputs: string[], opts: Record<string, unknown>, command: Command) => {
      const config = requireConfig(command, opts.config);
      const { explainCommand } = await import('./explainCommand.ts');
      result.code = await explainCommand(
        {
          config,
          inputs,
          namespace: opts.namespace as string | undefined,
          limits: limitsFrom(opts),
          shard: opts.shard as number | undefined,
          totalShards: opts.totalShards as number | undefined,
          kubeconfig: opts.kubeconfig as string | undefined,
          context: opts.context as string | undefined,
        },
        io,
      );
    },
  );

  root
    .command('rbac')
    .description(
      'Print the least-privilege ClusterRole for a config: get/list/watch on the configured resources plus CRDs.',
    )
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option('--name <name>', 'name of the ClusterRole', 'crd-metrics-bridge')
    .option(
      '--auth-filter',
      'add the rules --auth-filter needs (create tokenreviews, subjectaccessreviews)',
      false,
    )
    .option(
      '--pod-sharding <namespace>',
      'also print the Role auto-sharding needs in that namespace (get pods, watch statefulsets)',
    )
    .action(
      async (
        opts: { config?: string; name: string; authFilter: boolean; podSharding?: string },
        command: Command,
      ) => {
        const config = requireConfig(command, opts.config);
        const { rbacCommand } = await import('./rbacCommand.ts');
        result.code = await rbacCommand({ ...opts, config }, io);
      },
    );

  const run = root
    .command('run')
    .description(
      'Run the bridge: watch objects, keep their series in a cache and serve them on a Prometheus endpoint (and as OTLP pushes when OTEL_METRICS_EXPORTER includes otlp). Stops gracefully on SIGTERM; SIGHUP reloads the config.',
    )
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option(
      '--source <source>',
      'where objects come from: files:DIR (YAML/JSON files, watched) or kubernetes',
      'kubernetes',
    )
    .option(
      '--web.listen-address <address>',
      'address of the main listener (custom resource metrics, health)',
      ':8080',
    )
    .option(
      '--telemetry.listen-address <address>',
      "address of the listener for the bridge's own metrics ('' to disable)",
      ':8081',
    )
    .option('--web.telemetry-path <path>', 'path of the metrics endpoint', parseUrlPath, '/metrics')
    .option(
      '--web.max-requests <n>',
      'maximum parallel scrape requests; more get 503 at once (0 = unlimited)',
      parseNonNegativeInt,
      10,
    )
    // Lifecycle and slow clients.
    .addOption(
      new Option(
        '--web.write-timeout <duration>',
        'longest a response may take to write, e.g. 60s or 2m; slower clients are cut off (0 = none)',
      )
        .argParser(parseDuration)
        .default(60_000, '60s'),
    )
    .addOption(
      new Option(
        '--web.gzip-max-staleness <duration>',
        'under churn, a gzip scrape may get the state compressed ahead of it, at most this old (0 = never)',
      )
        .argParser(parseDuration)
        .default(DEFAULT_GZIP_MAX_STALENESS_MS, `${DEFAULT_GZIP_MAX_STALENESS_MS / 1000}s`),
    )
    .option('--web.enable-lifecycle', 'serve POST /-/reload (reload the config, as Prometheus does)', false)
    .addOption(new Option('--log.level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
    .addOption(
      new Option('--log.format <format>', 'log format on stderr').choices([...LOG_FORMATS]).default('json'),
    )
    .option('--otel.target-info', 'add OpenTelemetry target_info to the custom resource endpoint', false)
    .option(
      '--cluster-name <name>',
      'k8s.cluster.name of the OTLP resource (overrides OTEL_RESOURCE_ATTRIBUTES); keeps clusters apart in one backend',
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
    )
    .option('--context <name>', 'kubeconfig context to use');
  addKubeStateMetricsFlags(addListenerSecurityFlags(addLimitOptions(run)))
    .addHelpText('after', (context) =>
      context.command
        .createHelp()
        .boxWrap(
          '\nOpenTelemetry: OTEL_METRICS_EXPORTER (default prometheus; prometheus,otlp adds the push), ' +
            'OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, HEADERS, PROTOCOL (http/protobuf, http/json), COMPRESSION, ' +
            'TIMEOUT, CERTIFICATE; OTEL_METRIC_EXPORT_INTERVAL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ' +
            'OTEL_SDK_DISABLED, or OTEL_CONFIG_FILE (declarative configuration, file_format 1.x).\n\n' +
            KUBE_STATE_METRICS_FLAGS_HELP,
          helpWidth(io),
        ),
    )
    .action(async (opts: Record<string, unknown>, command: Command) => {
      let ksm: KubeStateMetricsFlags;
      try {
        ksm = resolveKubeStateMetricsFlags(command);
      } catch (err) {
        if (err instanceof FlagUsageError)
          command.error(`error: ${err.message}`, { exitCode: USAGE_ERROR, code: USAGE_CODE });
        throw err;
      }
      const config =
        ksm.configText !== undefined
          ? INLINE_CONFIG_NAME
          : requireConfig(command, ksm.config ?? opts.config, ' (or --custom-resource-state-config-file)');
      // Each command loads its modules when it runs (see the note on `program`): `run`'s Kubernetes
      // client, OpenTelemetry SDK and HTTP stack take most of the start time.
      const runCommand = runner ?? (await import('./runCommand.ts')).runCommand;
      const security = listenerSecurityFlags(opts);
      const limits = { ...limitsFrom(opts), ...ksm.limits };
      result.code = await runCommand(
        {
          config,
          configText: ksm.configText,
          source: opts.source as string,
          listenAddress: ksm.listenAddress ?? (opts['web.listenAddress'] as string),
          telemetryListenAddress: ksm.telemetryListenAddress ?? (opts['telemetry.listenAddress'] as string),
          telemetryPath: opts['web.telemetryPath'] as string,
          maxRequests: opts['web.maxRequests'] as number,
          writeTimeoutMs: ksm.writeTimeoutMs ?? (opts['web.writeTimeout'] as number),
          gzipMaxStalenessMs: opts['web.gzipMaxStaleness'] as number,
          enableLifecycle: opts['web.enableLifecycle'] as boolean,
          logLevel: ksm.logLevel ?? (opts['log.level'] as LogLevel),
          logFormat: opts['log.format'] as LogFormat,
          targetInfo: opts['otel.targetInfo'] as boolean,
          kubeconfig: opts.kubeconfig as string | undefined,
          context: opts.context as string | undefined,
          limits,
          ...security,
          webConfigFile: ksm.webConfigFile ?? security.webConfigFile,
          namespaces: ksm.namespaces,
          namespacesDenylist: ksm.namespacesDenylist,
          clusterName: opts.clusterName as string | undefined,
          notices: [...ksm.notices, { level: 'info', message: budgetNotice(limits) }],
        },
        io,
      );
    });

  configureErrors(root, io);
  return root;
}

/** 80 columns, or the terminal's width when the help goes to a narrower one. */
function helpWidth(io: CommandIo): number {
  const columns = io === processIo && process.stdout.isTTY ? process.stdout.columns : undefined;
  return Math.min(80, columns ?? 80);
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** An absolute URL path such as `/metrics` (a path without the leading slash was never served). */
function parseUrlPath(value: string): string {
  if (!/^\/[^\s?#]*$/.test(value))
    throw new InvalidArgumentError('expected a path starting with /, such as /metrics');
  return value;
}

/** A Go duration (`90s`, `1m30s`, `500ms`, `0`), in milliseconds, within Node's timer range. */
function parseDuration(value: string): number {
  const ms = parseGoDuration(value);
  // Node's timers hold at most 2^31-1 ms; a longer delay would fire after 1 ms.
  if (ms > 2 ** 31 - 1)
    throw new InvalidArgumentError('expected a duration of at most 596h (Node timer limit)');
  return ms;
}

/**
 * Usage errors as one line, with at most a did-you-mean and one hint line (never the whole help):
 * `error: unknown option '--x' (did you mean --y?)`, then `run 'crd-metrics-bridge run --help' for
 * usage`. Applied to every command, each with its own hint and candidates.
 */
function configureErrors(command: Command, io: CommandIo): void {
  const path = commandPath(command);
  command
    .showSuggestionAfterError(false)
    .showHelpAfterError(`run '${path} --help' for usage`)
    .configureOutput({
      writeOut: (t) => io.stdout(t),
      writeErr: (t) => io.stderr(t),
      outputError: (text, write) => write(oneLineError(text, command)),
    });
  for (const sub of command.commands) configureErrors(sub, io);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds a did-you-mean to commander's unknown option and command errors, on the same line. */
function oneLineError(text: string, command: Command): string {
  const option = /^error: unknown option '(-[^'=]*)(?:=[^']*)?'$/.exec(text.trimEnd());
  if (option) {
    // Hidden options count: a misspelt kube-state-metrics flag should be told its right name.
    // klog's one-letter `--v` would be one edit away from every short typo.
    const longs = command.options
      .map((o) => o.long)
      .filter((l): l is string => l !== undefined && l.length > 3);
    const near = option[1]!.startsWith('--') ? didYouMean(option[1]!, longs) : undefined;
    return `error: unknown option '${option[1]}'${near ? ` (did you mean ${near}?)` : ''}\n`;
  }
  const unknownCommand = /^error: unknown command '([^']*)'$/.exec(text.trimEnd());
  if (unknownCommand) {
    const near = didYouMean(
      unknownCommand[1]!,
      command.commands.map((c) => c.name()),
    );
    return `error: unknown command '${unknownCommand[1]}'${near ? ` (did you mean ${near}?)` : ''}\n`;
  }
  return text;
}

/**
 * kube-state-metrics' image takes its flags with no command (`--port=8080 ...`); so does this
 * one: a command line that starts with an option means `run`, except the root's own `--help` and
 * `--version` given alone.
 */
function withImpliedCommand(argv: readonly string[]): string[] {
  const [first] = argv;
  if (first === undefined || !first.startsWith('-') || first === '-') return [...argv];
  if (first === '-h' || first === '--help') return [...argv];
  if (argv.length === 1 && (first === '-v' || first === '--version')) return [...argv];
  return ['run', ...argv];
}

/**
 * Runs the CLI and returns the process exit code: 0; 1 when the input is invalid (config errors,
 * unreadable objects, a bad flag value: not a number, not one of the choices, a file that does not
 * exist...); 2 for a usage error (unknown or unsupported command or option, missing option or
 * argument, two options for the same thing).
 */
export async function main(
  argv: readonly string[],
  io: CommandIo = processIo,
  runner?: RunCommand,
): Promise<number> {
  const result = { code: 0 };
  const root = program(io, result, runner);
  try {
    await root.parseAsync(withImpliedCommand(argv), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0.
      if (err.exitCode === 0) return 0;
      return err.code === 'commander.invalidArgument' ? INVALID_INPUT : USAGE_ERROR;
    }
    throw err;
  }
  if (argv.length === 0) {
    root.outputHelp({ error: true });
    return USAGE_ERROR;
  }
  return result.code;
}
