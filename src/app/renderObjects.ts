import { pino } from 'pino';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import type { ObjectErrorSummary } from '../engine/ObjectErrors.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { healthFamiliesText, healthSpecs } from '../exposition/healthFamilies.ts';
import { familyPieces } from '../exposition/renderFamilies.ts';
import { objectGvk } from '../model/gvk.ts';
import type { ObjectRef } from '../model/objectRef.ts';
import { FileSource } from '../sources/FileSource.ts';
import type { FileProblem } from '../sources/objectFiles.ts';
import { ConfigGeneration } from './ConfigGeneration.ts';

export interface RenderInputs {
  /** Files and directories; `-` is standard input (YAML or JSON). */
  readonly paths: readonly string[];
  /** All of standard input, for `-`. */
  readonly stdin?: () => Promise<string>;
}

/** Everything `render` has to say besides the exposition. */
export interface RenderReport {
  /** Inputs that could not be read or parsed. */
  readonly problems: readonly FileProblem[];
  /** Objects a limit dropped, in order (each with the limit's message). */
  readonly drops: readonly { readonly object: ObjectRef; readonly message: string }[];
  /** Per-object errors by resource, metric and kind, with one example each. */
  readonly errors: readonly ObjectErrorSummary[];
  /** Objects that match no configured resource, by apiVersion and kind. */
  readonly unmatched: ReadonlyMap<string, number>;
  /** Objects that matched a resource. */
  readonly matched: number;
}

/**
 * What `run` would serve for objects read from files, by construction: the same files source
 * (read once, not watched), ingest path, cache and renderer as `/metrics`. Returns the pieces of
 * the exposition (never one string: V8 caps a string's length) and the report.
 */
export async function renderObjects(
  config: CompiledConfig,
  inputs: RenderInputs,
  format: ExpositionFormat,
): Promise<{ pieces: Iterable<string>; report: RenderReport }> {
  const problems: FileProblem[] = [];
  const drops: { object: ObjectRef; message: string }[] = [];
  const unmatched = new Map<string, number>();
  let matched = 0;
  const errors = new ObjectErrors({
    onEvery: (summary, occurrence) => {
      if (summary.kind.startsWith('limit-')) drops.push(occurrence);
    },
  });
  const generation = new ConfigGeneration(config, {
    errors,
    onEvent: (outcome, _resource, object) => {
      if (outcome === 'unmatched') {
        const gvk = objectGvk(object);
        const what = gvk
          ? `${gvk.group ? gvk.group + '/' : ''}${gvk.version} ${gvk.kind}`
          : 'objects without apiVersion/kind';
        unmatched.set(what, (unmatched.get(what) ?? 0) + 1);
      } else if (outcome === 'upserted' || outcome === 'limited' || outcome === 'failed') {
        matched++;
      }
    },
    sources: (_config, sink) => [
      new FileSource({
        inputs: inputs.paths,
        sink,
        logger: pino({ level: 'silent' }),
        watch: false,
        ...(inputs.stdin ? { stdin: inputs.stdin } : {}),
        onProblem: (p) => problems.push(p),
      }),
    ],
  });
  await generation.start();
  await generation.stop();
  // The files source reports bad inputs as problems; failing to start at all is a bug.
  if (!generation.synced) throw new Error(`reading the objects failed: ${generation.notSynced().join(', ')}`);
  return {
    // The health counters count watch events; a render sees none, so they are headers only.
    pieces: familyPieces(
      config.families,
      (f) => generation.cache.blocks(f),
      format,
      () => healthFamiliesText(healthSpecs(config.families), () => undefined, format),
    ),
    report: { problems, drops, errors: errors.summaries(), unmatched, matched },
  };
}
