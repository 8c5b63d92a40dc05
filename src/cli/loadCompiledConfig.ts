import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { loadConfig } from '../config/loadConfig.ts';
import { compileConfig } from '../engine/compileConfig.ts';
import type { CompiledConfig } from '../engine/compileConfig.ts';
import type { CommandIo } from './CommandIo.ts';

/** Reads, validates and compiles a config file; throws ConfigError listing every problem. */
export async function loadCompiledConfig(file: string): Promise<CompiledConfig> {
  return compileConfig(await loadConfig(file));
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
): Promise<CompiledConfig | undefined> {
  try {
    return await loadCompiledConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportConfigError(err, io);
    return undefined;
  }
}
