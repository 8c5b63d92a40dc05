import { rbacYaml } from '../app/rbac.ts';
import { isWildcard } from '../model/gvk.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';

/** `rbac --config FILE`: prints the least-privilege ClusterRole for the config. */
export async function rbacCommand(
  options: { config: string; name: string; authFilter?: boolean; podSharding?: string },
  io: CommandIo,
): Promise<number> {
  const compiled = await loadCompiledConfigOrReport(options.config, io);
  if (!compiled) return 1;
  const everyGroup = compiled.resources.find((r) => isWildcard(r.groupVersionKind.group));
  if (everyGroup)
    io.stderr(
      `warning: ${options.config}:${everyGroup.config.location.line}: group "*" needs get, list and watch on every resource of every API group (Secrets included: RBAC cannot name "custom resources only"); to grant less, list the groups you watch\n`,
    );
  io.stdout(rbacYaml(compiled, options));
  return 0;
}
