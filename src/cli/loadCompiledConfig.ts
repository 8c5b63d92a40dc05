import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { loadConfig } from '../config/loadConfig.ts';
import { compileConfig } from '../engine/compileConfig.ts';
import type { CompileOptions, CompiledConfig } from '../engine/compileConfig.ts';
import type { CommandIo } from './CommandIo.ts';

/** Reads, validates and compiles a config file; throws ConfigError listing every problem. */
export async function loadCompiledConfig(file: string, options?: CompileOptions): Promise<CompiledConfig> {
  return compileConfig(await loadConfig(file), options);
}

/** Prints every problem as `error: file:line:col: path: message`. */
export function reportConfigError(err: ConfigError, io: CommandIo): void {
  for (const p of err.problems) io.stderr(`error: ${formatProblem(p)}\n`);
}

/**
 * The same for commands: every problem is printed (see reportConfigError) and undefined is
 * returned, so the command exits 1.
 */
export async function loadCompiledConfigOrReport(
  file: string,
  io: CommandIo,
  options?: CompileOptions,
): Promise<CompiledConfig | undefined> {
  try {
    return await loadCompiledConfig(file, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportConfigError(err, io);
    return undefined;
  }
}
