import { renderObjects } from '../app/renderObjects.ts';
import type { SeriesLimits } from '../engine/limits.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { formatObjectRef } from '../model/objectRef.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';

export interface RenderOptions {
  readonly config: string;
  readonly format: ExpositionFormat;
  /** Files and directories; `-` is standard input (YAML or JSON). */
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
 * exactly as the bridge would serve them (same source, ingest path, cache and limits), and nothing
 * else on stdout. Exit 1 for a bad config or an unreadable input file (after printing what could
 * be rendered). An object dropped by a limit is named on stderr; it does not change the exit code.
 */
export async function renderCommand(options: RenderOptions, io: CommandIo): Promise<number> {
  const compiled = await loadCompiledConfigOrReport(
    options.config,
    io,
    options.limits ? { limits: options.limits } : undefined,
  );
  if (!compiled) return 1;
  const { pieces, report } = await renderObjects(
    compiled,
    { paths: options.paths, ...(io.stdin ? { stdin: io.stdin } : {}) },
    options.format,
  );
  let buffer = '';
  for (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= WRITE_CHUNK_CHARS) {
      io.stdout(buffer);
      buffer = '';
    }
  }
  if (buffer !== '') io.stdout(buffer);

  for (const p of report.problems) io.stderr(`error: ${p.file}: ${p.message}\n`);
  for (const d of report.drops.slice(0, MAX_NAMED_DROPS))
    io.stderr(`dropped object ${formatObjectRef(d.object)}: ${d.message}\n`);
  if (report.drops.length > MAX_NAMED_DROPS)
    io.stderr(`dropped ${report.drops.length - MAX_NAMED_DROPS} more objects over limits\n`);
  for (const s of report.errors) {
    io.stderr(
      `object error: ${s.metric} (${s.kind}): ${s.count} time${s.count === 1 ? '' : 's'}, e.g. ${formatObjectRef(s.exampleObject)}: ${s.exampleMessage}\n`,
    );
  }
  if (report.unmatched.size > 0) {
    const total = [...report.unmatched.values()].reduce((a, b) => a + b, 0);
    io.stderr(
      `skipped ${total} object${total === 1 ? '' : 's'} matching no configured resource: ${[...report.unmatched].map(([k, n]) => `${k} (${n})`).join(', ')}\n`,
    );
  }
  if (report.matched === 0 && report.problems.length === 0)
    io.stderr('warning: no object matched a configured resource\n');
  return report.problems.length > 0 ? 1 : 0;
}
