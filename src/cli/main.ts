import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { processIo } from './CommandIo.ts';
import type { CommandIo } from './CommandIo.ts';
import { LOG_FORMATS, LOG_LEVELS } from './logOptions.ts';
import type { LogFormat, LogLevel } from './logOptions.ts';
import { addListenerSecurityFlags, listenerSecurityFlags } from './runFlags.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { versionLine } from '../version.ts';
import { DEFAULT_LIMITS, LIMIT_NAMES, limitKebab } from '../engine/limits.ts';
import type { SeriesLimits } from '../engine/limits.ts';

const LIMIT_HELP: Readonly<Record<keyof SeriesLimits, string>> = {
  objectSeries: 'series one object may produce',
  objectLabelBytes: "total length of one object's label names and values",
  labelValueLength: 'length of one label value',
  familySeries: 'series one family may hold across objects',
  resourceObjects: 'objects kept per resource',
  celCost: 'cost of one CEL evaluation (one per node evaluated and per list element iterated)',
};

/** The `--limits.*` flags, shared by `render` and `run` (a resource's config `limits` win). */
function addLimitOptions(command: Command): Command {
  for (const name of LIMIT_NAMES) {
    command.option(
      `--limits.${limitKebab(name)} <n>`,
      `${LIMIT_HELP[name]}; over it the object is dropped (0 = unlimited; default ${DEFAULT_LIMITS[name]})`,
      parseNonNegativeInt,
    );
  }
  return command;
}

function limitsFrom(opts: Record<string, unknown>): Partial<SeriesLimits> {
  const out: Partial<Record<keyof SeriesLimits, number>> = {};
  for (const name of LIMIT_NAMES) {
    const v = opts[`limits.${name}`];
    if (typeof v === 'number') out[name] = v;
  }
  return out;
}

/** Exit code for a command line that does not parse (unknown command or option, missing value). */
const USAGE_ERROR = 2;

/**
 * Builds the command tree; actions store their exit code in `result`. Actions import their command
 * module dynamically so that `--help`, `--version` and `check` load only what they use.
 */
function program(io: CommandIo, result: { code: number }): Command {
  const root = new Command('crd-metrics-bridge')
    .description(
      'Turns the state of Kubernetes custom resources into metrics (kube-state-metrics custom-resource-state config, extended with CEL), served on a Prometheus endpoint and pushed as OTLP.',
    )
    .option('-v, --version', 'print the version, git revision and Node.js version')
    .showHelpAfterError()
    // Commander wraps descriptions to this width; subcommands inherit it.
    .configureHelp({ helpWidth: helpWidth(io) })
    .configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t) })
    .exitOverride();
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
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
    .action(async (opts: { config: string }) => {
      const { checkCommand } = await import('./checkCommand.ts');
      result.code = await checkCommand(opts, io);
    });

  const render = root
    .command('render')
    .description(
      'Print the metric families a config gives for objects read from YAML/JSON files (multi-document YAML, kind: List, directories read recursively; - reads standard input). Use it to test a config before deploying it.',
    )
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
    .addOption(
      new Option('-f, --format <format>', 'exposition format')
        .choices(['text', 'openmetrics'])
        .default('text'),
    )
    .argument('<paths...>', 'object files or directories, or - for standard input');
  addLimitOptions(render).action(
    async (paths: string[], opts: { config: string; format: ExpositionFormat } & Record<string, unknown>) => {
      const { renderCommand } = await import('./renderCommand.ts');
      result.code = await renderCommand(
        { config: opts.config, format: opts.format, paths, limits: limitsFrom(opts) },
        io,
      );
    },
  );

  root
    .command('rbac')
    .description(
      'Print the least-privilege ClusterRole for a config: get/list/watch on the configured resources plus CRDs.',
    )
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
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
    .action(async (opts: { config: string; name: string; authFilter: boolean; podSharding?: string }) => {
      const { rbacCommand } = await import('./rbacCommand.ts');
      result.code = await rbacCommand(opts, io);
    });

  const run = root
    .command('run')
    .description(
      'Run the bridge: watch objects, keep their series in a cache and serve them on a Prometheus endpoint (and as OTLP pushes when OTEL_METRICS_EXPORTER includes otlp). Stops gracefully on SIGTERM; SIGHUP reloads the config.',
    )
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
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
  addListenerSecurityFlags(addLimitOptions(run))
    .addHelpText('after', (context) =>
      context.command
        .createHelp()
        .boxWrap(
          '\nOpenTelemetry: OTEL_METRICS_EXPORTER (default prometheus; prometheus,otlp adds the push), ' +
            'OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, HEADERS, PROTOCOL (http/protobuf, http/json), COMPRESSION, ' +
            'TIMEOUT, CERTIFICATE; OTEL_METRIC_EXPORT_INTERVAL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ' +
            'OTEL_SDK_DISABLED, or OTEL_CONFIG_FILE (declarative configuration, file_format 1.x).',
          helpWidth(io),
        ),
    )
    .action(async (opts: Record<string, unknown>) => {
      // Each command loads its modules when it runs (see the note on `program`): `run`'s Kubernetes
      // client, OpenTelemetry SDK and HTTP stack take most of the start time.
      const { runCommand } = await import('./runCommand.ts');
      result.code = await runCommand(
        {
          config: opts.config as string,
          source: opts.source as string,
          listenAddress: opts['web.listenAddress'] as string,
          telemetryListenAddress: opts['telemetry.listenAddress'] as string,
          telemetryPath: opts['web.telemetryPath'] as string,
          maxRequests: opts['web.maxRequests'] as number,
          writeTimeoutMs: opts['web.writeTimeout'] as number,
          enableLifecycle: opts['web.enableLifecycle'] as boolean,
          logLevel: opts['log.level'] as LogLevel,
          logFormat: opts['log.format'] as LogFormat,
          targetInfo: opts['otel.targetInfo'] as boolean,
          kubeconfig: opts.kubeconfig as string | undefined,
          context: opts.context as string | undefined,
          limits: limitsFrom(opts),
          ...listenerSecurityFlags(opts),
          clusterName: opts.clusterName as string | undefined,
        },
        io,
      );
    });

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

/** `90s`, `2m`, `500ms` or `0` (Go's duration syntax, one unit), in milliseconds. */
function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (value.trim() === '0') return 0;
  if (!match) throw new InvalidArgumentError('expected a duration such as 60s, 2m or 500ms');
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * unit);
  // Node's timers hold at most 2^31-1 ms; a longer delay would fire after 1 ms.
  if (ms > 2 ** 31 - 1)
    throw new InvalidArgumentError('expected a duration of at most 596h (Node timer limit)');
  return ms;
}

/**
 * Runs the CLI and returns the process exit code: 0, 1 when the input is invalid (config errors,
 * unreadable objects, bad flag values found when the command runs), 2 for a usage error (unknown
 * command or option, missing argument, a value outside a flag's choices).
 */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const result = { code: 0 };
  const root = program(io, result);
  try {
    await root.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors with commander's 1.
      return err.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    throw err;
  }
  if (argv.length === 0) {
    root.outputHelp({ error: true });
    return USAGE_ERROR;
  }
  return result.code;
}
