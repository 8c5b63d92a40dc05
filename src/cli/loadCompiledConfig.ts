import { readConfigFile } from '../app/readConfigFile.ts';
import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import type { CompileOptions } from '../engine/compile/compileConfig.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import type { CommandIo } from './CommandIo.ts';

/** Prints every problem as `error: file:line:col: path: message`. */
export function reportConfigError(err: ConfigError, io: CommandIo): void {
  for (const p of err.problems) io.stderr(`error: ${formatProblem(p)}\n`);
}

/**
 * Reads and compiles a config file for a command: every problem is printed (see
 * reportConfigError) and undefined is returned, so the command exits 1.
 */
export async function loadCompiledConfigOrReport(
  file: string,
  io: CommandIo,
  options?: CompileOptions,
): Promise<CompiledConfig | undefined> {
  try {
    return (await readConfigFile(file, options)).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportConfigError(err, io);
    return undefined;
  }
}
