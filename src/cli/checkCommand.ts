import { formatProblem } from '../config/ConfigError.ts';
import { ConfigError } from '../config/ConfigError.ts';
import { loadCompiledConfig } from './loadCompiledConfig.ts';
import type { CommandIo } from './CommandIo.ts';

/** `check --config FILE`: exit 0 with a summary, or 1 with every problem. */
export async function checkCommand(options: { config: string }, io: CommandIo): Promise<number> {
  try {
    const compiled = await loadCompiledConfig(options.config);
    for (const warning of compiled.warnings) io.stderr(`warning: ${formatProblem(warning)}\n`);
    const metrics = compiled.resources.reduce((n, r) => n + r.families.length, 0);
    io.stdout(
      `${options.config}: OK: ${compiled.resources.length} resource${compiled.resources.length === 1 ? '' : 's'}, ` +
        `${metrics} metric${metrics === 1 ? '' : 's'} in ${compiled.families.length} famil${compiled.families.length === 1 ? 'y' : 'ies'}\n`,
    );
    for (const r of compiled.resources) {
      const gvk = r.groupVersionKind;
      io.stdout(
        `  ${gvk.group}/${gvk.version || '*'} ${gvk.kind || '*'}: ${r.families.map((f) => f.meta.name).join(', ')}\n`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) io.stderr(`error: ${formatProblem(p)}\n`);
      io.stderr(`${options.config}: ${err.problems.length} error${err.problems.length === 1 ? '' : 's'}\n`);
      return 1;
    }
    throw err;
  }
}
