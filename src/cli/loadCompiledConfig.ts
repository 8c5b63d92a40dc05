import { loadConfig } from '../config/loadConfig.ts';
import { compileConfig } from '../engine/compileConfig.ts';
import type { CompiledConfig } from '../engine/compileConfig.ts';

/** Reads, validates and compiles a config file; throws ConfigError listing every problem. */
export async function loadCompiledConfig(file: string): Promise<CompiledConfig> {
  return compileConfig(await loadConfig(file));
}
