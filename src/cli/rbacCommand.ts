import { rbacYaml } from '../app/rbac.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';

/** `rbac --config FILE`: prints the least-privilege ClusterRole for the config. */
export async function rbacCommand(
  options: { config: string; name: string; authFilter?: boolean; podSharding?: string },
  io: CommandIo,
): Promise<number> {
  const compiled = await loadCompiledConfigOrReport(options.config, io);
  if (!compiled) return 1;
  io.stdout(rbacYaml(compiled, options));
  return 0;
}
