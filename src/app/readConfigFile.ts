import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/ConfigError.ts';
import type { ConfigProblem } from '../config/ConfigError.ts';
import { readConfigText, unreadableConfig } from '../config/loadConfig.ts';
import { compileConfig } from '../engine/compile/compileConfig.ts';
import type { CompileOptions } from '../engine/compile/compileConfig.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';

/** A config file as read: the compiled config and the hash of the exact bytes it came from. */
export interface LoadedConfig {
  readonly file: string;
  readonly config: CompiledConfig;
  /** First 52 bits of the file's SHA-256, as a number (kube-state-metrics' config_hash idea). */
  readonly hash: number;
  /** What it was compiled with (the `--limits.*` flags); a reload compiles the file again with them. */
  readonly options: CompileOptions;
  /** The config text when it was given inline rather than read from `file` (then never re-read). */
  readonly text?: string | undefined;
}

/** A config file that cannot be used: every problem, and the hash of the bytes that had them. */
export class InvalidConfigFile extends ConfigError {
  /** As LoadedConfig's; -1 when the file could not be read. */
  readonly hash: number;

  constructor(problems: readonly ConfigProblem[], hash: number) {
    super(problems);
    this.name = 'InvalidConfigFile';
    this.hash = hash;
  }
}

/**
 * Reads, validates and compiles a config file, the one way every command does; with `text`, that
 * text under the name `file` (inline config). Throws InvalidConfigFile listing every problem: the
 * reader's and the compiler's together.
 */
export async function readConfigFile(
  file: string,
  options: CompileOptions = {},
  text?: string,
): Promise<LoadedConfig> {
  let bytes: Buffer;
  try {
    bytes = text !== undefined ? Buffer.from(text, 'utf8') : await readFile(file);
  } catch (err) {
    throw new InvalidConfigFile(unreadableConfig(file, err).problems, -1);
  }
  const hash = parseInt(createHash('sha256').update(bytes).digest('hex').slice(0, 13), 16);
  const read = readConfigText(bytes.toString('utf8'), file);
  try {
    return {
      file,
      config: compileConfig(read.config, { ...options, readProblems: read.problems }),
      hash,
      options,
      text,
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidConfigFile(err.problems, hash);
    throw err;
  }
}
