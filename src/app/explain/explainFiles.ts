import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import type { ConfigProblem } from '../../config/ConfigError.ts';
import { readConfigText, unreadableConfig } from '../../config/loadConfig.ts';
import { builtInHealthJudges } from '../../engine/compile/builtInHealthJudges.ts';
import { ConfigCompiler } from '../../engine/compile/ConfigCompiler.ts';
import type { CompiledConfig } from '../../engine/generate/CompiledConfig.ts';
import type { SeriesLimits } from '../../engine/limits.ts';
import { LIMIT_NAMES, limitKind } from '../../engine/limits.ts';
import type { LimitName } from '../../engine/limits.ts';
import { ObjectErrors } from '../../engine/ObjectErrors.ts';
import type { IngestOutcome } from '../../engine/store/ObjectIngestor.ts';
import { inShard } from '../../kube/sharding.ts';
import type { ShardAssignment } from '../../kube/sharding.ts';
import { FileSource } from '../../sources/FileSource.ts';
import type { FileProblem } from '../../sources/objectFiles.ts';
import type { ObjectSink } from '../../sources/Source.ts';
import { ConfigGeneration } from '../ConfigGeneration.ts';
import { explainObject } from './explainObject.ts';
import type { ExplainSettings, IngestCut, ObjectExplanation } from './explainObject.ts';

/** A config compiled for explain: what compiled, and every problem (run and check refuse those). */
export interface ExplainConfig {
  readonly config: CompiledConfig;
  readonly problems: readonly ConfigProblem[];
}

/**
 * Reads and compiles a config as `check` does, but keeps going past problems: explain still
 * says what each family would give, and names the problem on the families it is in (a family
 * another resource defines with another type, say). Undefined `config` only when the file
 * cannot be read at all.
 */
export async function compileForExplain(
  file: string,
  limits: Partial<SeriesLimits> | undefined,
): Promise<ExplainConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      config: { file, families: [], resources: [], warnings: [] },
      problems: unreadableConfig(file, err).problems,
    };
  }
  const read = readConfigText(text, file);
  const compiler = new ConfigCompiler(file, limits, builtInHealthJudges(file));
  const resources = read.config.resources.map((r, i) => compiler.resource(r, i));
  return {
    config: { file, families: compiler.families(), resources, warnings: compiler.warnings },
    problems: [...read.problems, ...compiler.problems],
  };
}

export interface ExplainFileInputs {
  /** Files and directories; `-` is standard input. */
  readonly paths: readonly string[];
  readonly stdin?: () => Promise<string>;
}

export interface FileExplanations {
  readonly objects: readonly ObjectExplanation[];
  /** Inputs that could not be read or parsed. */
  readonly problems: readonly FileProblem[];
}

/**
 * Explains every object in the files, read through the same files source and ingest path as
 * `render` (so identity, matching and the limits that span objects are the same), as the
 * replica given by `shard` would see them.
 */
export async function explainFiles(
  settings: ExplainSettings & { readonly shard?: ShardAssignment | undefined },
  inputs: ExplainFileInputs,
): Promise<FileExplanations> {
  const problems: FileProblem[] = [];
  const seen = new Map<string, { object: unknown; origin: string; cut: IngestCut | undefined }>();
  let current: IngestCut[] = [];
  const errors = new ObjectErrors({
    onEvery: (summary, occurrence) => {
      if (!summary.kind.startsWith('limit-')) return;
      const limit = LIMIT_NAMES.find((n: LimitName) => limitKind(n) === summary.kind);
      current.push({ limit, family: summary.metric, message: occurrence.message });
    },
  });
  const shard = settings.shard;
  const generation = new ConfigGeneration(settings.config, {
    errors,
    accept: shard && shard.totalShards > 1 ? inShard(shard) : undefined,
    sources: (_config, sink) => [
      new FileSource({
        inputs: inputs.paths,
        // Each object's cut-offs are collected while it is upserted (no slicing: synchronously).
        sink: recording(
          sink,
          () => (current = []),
          (key, object, origin, outcome) => {
            seen.delete(key);
            seen.set(key, { object, origin, cut: outcome === 'limited' ? current[0] : undefined });
          },
        ),
        logger: pino({ level: 'silent' }),
        watch: false,
        ...(inputs.stdin ? { stdin: inputs.stdin } : {}),
        onProblem: (p) => problems.push(p),
      }),
    ],
  });
  await generation.start();
  await generation.stop();
  if (!generation.synced) throw new Error(`reading the objects failed: ${generation.notSynced().join(', ')}`);
  return {
    objects: [...seen.values()].map((s) => explainObject(settings, s.object, s.origin, s.cut)),
    problems,
  };
}

/** The ingestor as the source sees it, telling `record` of each upsert's outcome. */
function recording(
  sink: ObjectSink,
  before: () => void,
  record: (key: string, object: unknown, origin: string, outcome: IngestOutcome) => void,
): ObjectSink {
  return {
    upsert: (scope, key, object, origin) => {
      before();
      const outcome = sink.upsert(scope, key, object, origin) as IngestOutcome;
      record(key, object, origin ?? scope, outcome);
      return outcome;
    },
    delete: (scope, key) => sink.delete(scope, key),
    beginSync: (scope, options) => sink.beginSync(scope, options),
    endSync: (scope) => sink.endSync(scope),
    dropScope: (scope) => sink.dropScope(scope),
    objectCount: (scope) => sink.objectCount(scope),
  };
}
