import { writeFile } from 'node:fs/promises';
import type { ClusterTarget } from '../app/init/clusterCrds.ts';
import { draftConfig, InitInputError } from '../app/init/initConfig.ts';
import { readCrdFiles } from '../app/init/readCrds.ts';
import type { CrdReadResult } from '../app/init/readCrds.ts';
import type { CommandIo } from './CommandIo.ts';

export interface InitOptions {
  /** CRD files and directories (`-` for standard input), or GROUP/KIND with `fromCluster`. */
  readonly inputs: readonly string[];
  readonly fromCluster: boolean;
  /** Draft for this version instead of each CRD's storage version. */
  readonly version?: string | undefined;
  /** Write the config here instead of standard output. */
  readonly output?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

const USAGE_ERROR = 2;

/**
 * `init CRD_FILE...` or `init --from-cluster GROUP/KIND...`: drafts a commented config. Exit 0
 * with the config on stdout (or in `--output`), 1 naming every input that cannot be drafted
 * from, 2 for a usage error.
 */
export async function initCommand(options: InitOptions, io: CommandIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`error: ${message}\n`);
    return USAGE_ERROR;
  };
  if (options.inputs.length === 0)
    return usage(
      options.fromCluster
        ? 'init --from-cluster needs at least one GROUP/KIND (or GROUP/*)'
        : 'init needs at least one CRD file (or - for standard input), or --from-cluster GROUP/KIND',
    );
  if (!options.fromCluster && (options.kubeconfig !== undefined || options.context !== undefined))
    return usage('--kubeconfig and --context apply to --from-cluster only');

  let read: CrdReadResult;
  if (options.fromCluster) {
    // The Kubernetes client is loaded only when asked for, as `run` does.
    const { parseClusterTarget, readClusterCrds } = await import('../app/init/clusterCrds.ts');
    const targets: ClusterTarget[] = [];
    for (const input of options.inputs) {
      const target = parseClusterTarget(input);
      if (!target)
        return usage(
          `--from-cluster: "${input}" is not GROUP/KIND or GROUP/* (e.g. cert-manager.io/Certificate)`,
        );
      targets.push(target);
    }
    read = await readClusterCrds(targets, { kubeconfig: options.kubeconfig, context: options.context });
  } else {
    read = await readCrdFiles(options.inputs, io.stdin);
  }
  for (const note of read.notes) io.stderr(`note: ${note}\n`);
  let problems = read.problems;
  let text: string | undefined;
  let resources = 0;
  let metrics = 0;
  try {
    const drafted = await draftConfig(read.crds, { version: options.version });
    text = drafted.text;
    resources = drafted.resources.length;
    metrics = drafted.resources.reduce((n, r) => n + r.metrics.length, 0);
  } catch (err) {
    if (!(err instanceof InitInputError)) throw err;
    // With no CRD read at all, the reading problems say why; "no CRD given" adds nothing.
    problems = read.crds.length === 0 && problems.length > 0 ? problems : [...problems, ...err.problems];
  }
  if (problems.length > 0 || text === undefined) {
    for (const p of problems) io.stderr(`error: ${p}\n`);
    return 1;
  }
  if (options.output === undefined) {
    io.stdout(text);
    return 0;
  }
  try {
    await writeFile(options.output, text);
  } catch (err) {
    io.stderr(`error: --output ${options.output}: ${(err as Error).message}\n`);
    return 1;
  }
  io.stderr(
    `wrote ${options.output}: ${resources} resource${resources === 1 ? '' : 's'}, ${metrics} metric${metrics === 1 ? '' : 's'}\n`,
  );
  return 0;
}
