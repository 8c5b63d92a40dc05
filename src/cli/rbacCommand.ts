import { clusterRoleYaml } from '../kube/clusterRole.ts';
import { shardingRoleYaml } from '../kube/shardingRole.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';

/** `rbac --config FILE`: prints the least-privilege ClusterRole for the config. */
export async function rbacCommand(
  options: { config: string; name: string; authFilter?: boolean; podSharding?: string },
  io: CommandIo,
): Promise<number> {
  const compiled = await loadCompiledConfigOrReport(options.config, io);
  if (!compiled) return 1;
  io.stdout(
    clusterRoleYaml(
      compiled.resources.map((r) => r.config),
      options.name,
      { authFilter: options.authFilter },
    ),
  );
  // Auto-sharding needs a Role in the bridge's namespace, printed as a second document.
  if (options.podSharding) io.stdout(`---\n${shardingRoleYaml(options.podSharding, options.name)}`);
  return 0;
}
