import { Command, CommanderError, Option } from 'commander';
import { checkCommand } from './checkCommand.ts';
import { processIo } from './CommandIo.ts';
import type { CommandIo } from './CommandIo.ts';
import { renderCommand } from './renderCommand.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';

const VERSION = '0.1.0';

/** Builds the command tree; actions store their exit code in `result`. */
function program(io: CommandIo, result: { code: number }): Command {
  const root = new Command('crd-metrics-bridge')
    .description(
      'Turns the state of Kubernetes custom resources into metrics (kube-state-metrics custom-resource-state config, extended with CEL),\nserved on a Prometheus endpoint and pushed as OTLP.',
    )
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  root
    .command('check')
    .description('Validate a config file: exit 0 with a summary, or 1 listing every error with file, line and column.')
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
    .action(async (opts: { config: string }) => {
      result.code = await checkCommand(opts, io);
    });

  root
    .command('render')
    .description(
      'Print the metric families a config gives for objects read from YAML/JSON files (multi-document YAML, kind: List,\ndirectories read recursively). Use it to test a config before deploying it.',
    )
    .requiredOption('-c, --config <file>', 'CustomResourceStateMetrics config file (YAML)')
    .addOption(new Option('-f, --format <format>', 'exposition format').choices(['text', 'openmetrics']).default('text'))
    .argument('<paths...>', 'object files or directories')
    .action(async (paths: string[], opts: { config: string; format: ExpositionFormat }) => {
      result.code = await renderCommand({ config: opts.config, format: opts.format, paths }, io);
    });

  return root;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const result = { code: 0 };
  const root = program(io, result);
  try {
    await root.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors with 1.
      return err.exitCode;
    }
    throw err;
  }
  if (argv.length === 0) {
    root.outputHelp();
    return 1;
  }
  return result.code;
}
