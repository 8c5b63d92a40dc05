import { existsSync } from 'node:fs';
import { explainFiles, compileForExplain } from '../app/explain/explainFiles.ts';
import { formatConfigProblems, formatExplanation, hasError } from '../app/explain/formatExplanation.ts';
import { parseLiveTarget } from '../app/explain/liveTarget.ts';
import { shardAssignment } from '../app/explain/shardAssignment.ts';
import type { SeriesLimits } from '../engine/limits.ts';
import type { CommandIo } from './CommandIo.ts';

export interface ExplainOptions {
  readonly config: string;
  /** Object files and directories (`-` for standard input), or TYPE/NAME for the live mode. */
  readonly inputs: readonly string[];
  /** Live mode: the object's namespace. */
  readonly namespace?: string | undefined;
  readonly limits?: Partial<SeriesLimits>;
  readonly shard?: number | undefined;
  readonly totalShards?: number | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

const USAGE_ERROR = 2;

/**
 * `explain --config C OBJECT_FILE...` (offline) or `explain --config C TYPE/NAME [-n NS]` (live):
 * for every family of every resource the object matches, its series or the one reason it gives
 * none, with the config's file:line. Exit 0 when every family gave series or none for an
 * expected reason, 1 when a family gave none because of an error in the object or the config
 * (or an input could not be read), 2 for a usage error.
 */
export async function explainCommand(options: ExplainOptions, io: CommandIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`error: ${message}\n`);
    return USAGE_ERROR;
  };
  if (options.inputs.length === 0)
    return usage('explain needs object files (or - for standard input), or TYPE/NAME of a live object');
  // TYPE/NAME as kubectl writes it (widget/web, widgets.example.com/web), unless a file has that
  // name or it ends in .yaml, .yml or .json (a misspelt file is reported as a missing file).
  const live = options.inputs.flatMap((i) => {
    const file = i === '-' || existsSync(i) || /\.(ya?ml|json)$/i.test(i);
    const target = file ? undefined : parseLiveTarget(i, options.namespace);
    return target ? [target] : [];
  });
  if (live.length > 0 && live.length < options.inputs.length)
    return usage('give either object files or TYPE/NAME arguments, not both');
  if (
    live.length === 0 &&
    (options.namespace !== undefined || options.kubeconfig !== undefined || options.context !== undefined)
  )
    return usage('-n, --kubeconfig and --context apply to TYPE/NAME (live objects) only');

  let shard;
  try {
    shard = shardAssignment(options.shard, options.totalShards);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return 1;
  }
  const { config, problems } = await compileForExplain(options.config, options.limits);
  io.stderr(formatConfigProblems(problems));
  const settings = { config, problems, shard, limitFlags: options.limits ?? {} };

  let failed = problems.length > 0;
  if (live.length > 0) {
    // The Kubernetes client is loaded only when asked for, as `run` does.
    const { explainLive } = await import('../app/explain/explainLive.ts');
    const results = await explainLive(settings, live, {
      kubeconfig: options.kubeconfig,
      context: options.context,
    });
    for (const result of results) {
      if (result.explanation) {
        io.stdout(formatExplanation(result.explanation));
        if (hasError(result.explanation)) failed = true;
      } else {
        io.stderr(`error: ${result.problem}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  }

  const { objects, problems: fileProblems } = await explainFiles(settings, {
    paths: options.inputs,
    ...(io.stdin ? { stdin: io.stdin } : {}),
  });
  for (const explanation of objects) {
    io.stdout(formatExplanation(explanation));
    if (hasError(explanation)) failed = true;
  }
  for (const p of fileProblems) io.stderr(`error: ${p.file}: ${p.message}\n`);
  if (objects.length === 0 && fileProblems.length === 0) {
    io.stderr('error: no object in the inputs\n');
    return 1;
  }
  return failed || fileProblems.length > 0 ? 1 : 0;
}
