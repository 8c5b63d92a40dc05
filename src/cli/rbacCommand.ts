import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { clusterRoleYaml } from '../kube/clusterRole.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfig } from './loadCompiledConfig.ts';

/** `rbac --config FILE`: prints the least-privilege ClusterRole for the config. */
export async function rbacCommand(options: { config: string; name: string }, io: CommandIo): Promise<number> {
  try {
    const compiled = await loadCompiledConfig(options.config);
    io.stdout(
      clusterRoleYaml(
        compiled.resources.map((r) => r.config),
        options.name,
      ),
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) io.stderr(`error: ${formatProblem(p)}\n`);
      return 1;
    }
    throw err;
  }
}
