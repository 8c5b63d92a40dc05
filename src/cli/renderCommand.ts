import type { SeriesLimits } from '../engine/limits.ts';
import { formatObjectRef, objectGvk, resourceFor } from '../engine/objectIdentity.ts';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import type { ObjectRef } from '../engine/ObjectErrors.ts';
import { familyPieces } from '../exposition/renderFamilies.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { ConfigGeneration } from '../service/ConfigGeneration.ts';
import { listObjectFiles, readObjectFile } from '../sources/objectFiles.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';

export interface RenderOptions {
  readonly config: string;
  readonly format: ExpositionFormat;
  readonly paths: readonly string[];
  /** The `--limits.*` flags; a resource's `limits` in the config win. @default built-in defaults */
  readonly limits?: Partial<SeriesLimits>;
}

/** Objects named one by one on stderr when a limit drops them; beyond that, only counted. */
const MAX_NAMED_DROPS = 20;
/** Output is written in pieces of about this size, never as one string. */
const WRITE_CHUNK_CHARS = 1 << 20;

/**
 * `render --config FILE PATH...`: the families the config gives for the objects in the files,
 * exactly as the bridge would serve them (same ingestor, cache and limits), and nothing else on
 * stdout. Exit 1 for a bad config or an unreadable input file (after printing what could be
 * rendered). An object dropped by a limit is named on stderr; it does not change the exit code.
 */
export async function renderCommand(options: RenderOptions, io: CommandIo): Promise<number> {
  const compiled = await loadCompiledConfigOrReport(
    options.config,
    io,
    options.limits ? { limits: options.limits } : undefined,
  );
  if (!compiled) return 1;
  const { files, problems } = await listObjectFiles(options.paths);
  const drops: { object: ObjectRef; message: string }[] = [];
  let dropCount = 0;
  const errors = new ObjectErrors({
    onEvery: (summary, occurrence) => {
      if (!summary.kind.startsWith('limit-')) return;
      if (++dropCount <= MAX_NAMED_DROPS) drops.push(occurrence);
    },
  });
  // The same config → cache ← ingestor path `run` serves from, so render equals /metrics.
  const generation = new ConfigGeneration(compiled, { errors });
  const unmatched = new Map<string, number>();
  let matched = 0;
  for (const file of files) {
    const read = await readObjectFile(file);
    problems.push(...read.problems);
    for (const { object, index } of read.objects) {
      const gvk = objectGvk(object);
      const resource = gvk ? resourceFor(compiled.resources, gvk) : undefined;
      if (!gvk || !resource) {
        const what = gvk
          ? `${gvk.group ? gvk.group + '/' : ''}${gvk.version} ${gvk.kind}`
          : 'objects without apiVersion/kind';
        unmatched.set(what, (unmatched.get(what) ?? 0) + 1);
        continue;
      }
      matched++;
      const origin = `${file}#${index}`;
      generation.ingestor.upsert(`${file}\u0000${index}`, object, origin);
    }
  }
  // Written in pieces: a large output never becomes one string (V8 caps a string's length).
  let buffer = '';
  for (const piece of familyPieces(compiled.families, (f) => generation.cache.blocks(f), options.format)) {
    buffer += piece;
    if (buffer.length >= WRITE_CHUNK_CHARS) {
      io.stdout(buffer);
      buffer = '';
    }
  }
  if (buffer !== '') io.stdout(buffer);

  for (const p of problems) io.stderr(`error: ${p.file}: ${p.message}\n`);
  for (const d of drops) io.stderr(`dropped object ${formatObjectRef(d.object)}: ${d.message}\n`);
  if (dropCount > drops.length) io.stderr(`dropped ${dropCount - drops.length} more objects over limits\n`);
  for (const s of errors.summaries()) {
    io.stderr(
      `object error: ${s.metric} (${s.kind}): ${s.count} time${s.count === 1 ? '' : 's'}, e.g. ${formatObjectRef(s.exampleObject)}: ${s.exampleMessage}\n`,
    );
  }
  if (unmatched.size > 0) {
    const total = [...unmatched.values()].reduce((a, b) => a + b, 0);
    io.stderr(
      `skipped ${total} object${total === 1 ? '' : 's'} matching no configured resource: ${[...unmatched].map(([k, n]) => `${k} (${n})`).join(', ')}\n`,
    );
  }
  if (matched === 0 && problems.length === 0) io.stderr('warning: no object matched a configured resource\n');
  return problems.length > 0 ? 1 : 0;
}
