import { ConfigError } from '../../config/ConfigError.ts';
import type { ConfigProblem } from '../../config/ConfigError.ts';
import type { BridgeConfig } from '../../config/types.ts';
import type { CompiledConfig } from '../generate/CompiledConfig.ts';
import type { HealthJudges } from '../generate/HealthJudge.ts';
import type { SeriesLimits } from '../limits.ts';
import { builtInHealthJudges } from './builtInHealthJudges.ts';
import { ConfigCompiler } from './ConfigCompiler.ts';

export interface CompileOptions {
  /**
   * Limits for every resource (the `--limits.*` flags); a resource's own `limits` keys win.
   * @default DEFAULT_LIMITS
   */
  readonly limits?: Partial<SeriesLimits>;
  /**
   * Problems found while reading the config (what could be read is compiled anyway): reported
   * together with the compiler's, so one run names every problem. @default []
   */
  readonly readProblems?: readonly ConfigProblem[];
  /** The health rules, for resources with `health`. @default the shipped rules (rules/health/) */
  readonly health?: HealthJudges;
}

/**
 * Compiles paths and CEL, checks names and types across resources. Throws ConfigError with every
 * problem, the reader's and the compiler's, in file order.
 */
export function compileConfig(config: BridgeConfig, options: CompileOptions = {}): CompiledConfig {
  const compiler = new ConfigCompiler(
    config.file,
    options.limits,
    options.health ?? builtInHealthJudges(config.file),
  );
  const resources = config.resources.map((resource, index) => compiler.resource(resource, index));
  const problems = [...(options.readProblems ?? []), ...compiler.problems];
  if (problems.length > 0) throw new ConfigError(inFileOrder(problems));
  return { file: config.file, families: compiler.families(), resources, warnings: compiler.warnings };
}

/** Sorted by line and column; problems at one place keep the order they were found in. */
function inFileOrder(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        a.p.location.line - b.p.location.line || a.p.location.column - b.p.location.column || a.i - b.i,
    )
    .map(({ p }) => p);
}
