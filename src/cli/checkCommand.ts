import { readConfigFile } from '../app/readConfigFile.ts';
import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import type { CommandIo } from './CommandIo.ts';

/** `check --config FILE`: exit 0 with a summary, or 1 with every problem and their count. */
export async function checkCommand(options: { config: string }, io: CommandIo): Promise<number> {
  let compiled;
  try {
    compiled = (await readConfigFile(options.config)).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) io.stderr(`error: ${formatProblem(p)}\n`);
    io.stderr(`${options.config}: ${err.problems.length} error${err.problems.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  for (const warning of compiled.warnings) io.stderr(`warning: ${formatProblem(warning)}\n`);
  // The health counter and histogram are families too, fed by watch events rather than objects.
  const namesOf = (r: (typeof compiled.resources)[number]) =>
    r.families.flatMap((f) =>
      f.meta.health
        ? [f.meta.name, `${f.meta.health.transitions}_total`, f.meta.health.timeToHealthy]
        : [f.meta.name],
    );
  const metrics = compiled.resources.reduce((n, r) => n + namesOf(r).length, 0);
  const families = new Set(compiled.resources.flatMap(namesOf)).size;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  io.stdout(
    `${options.config}: OK: ${plural(compiled.resources.length, 'resource', 'resources')}, ` +
      `${plural(metrics, 'metric', 'metrics')} in ${plural(families, 'family', 'families')}\n`,
  );
  for (const r of compiled.resources) {
    const gvk = r.groupVersionKind;
    io.stdout(`  ${gvk.group}/${gvk.version || '*'} ${gvk.kind || '*'}: ${namesOf(r).join(', ')}\n`);
  }
  return 0;
}
