import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import { clusterRoleYaml } from '../kube/clusterRole.ts';
import { shardingRoleYaml } from '../kube/shardingRole.ts';

export interface RbacOptions {
  /** Name of the ClusterRole (and of the auto-sharding Role). */
  readonly name: string;
  /** Add what `--auth-filter` needs (TokenReviews, SubjectAccessReviews). @default false */
  readonly authFilter?: boolean | undefined;
  /** Also the Role auto-sharding needs, in this namespace. @default none */
  readonly podSharding?: string | undefined;
}

/** The least-privilege RBAC for a config, as YAML documents. */
export function rbacYaml(config: CompiledConfig, options: RbacOptions): string {
  const clusterRole = clusterRoleYaml(
    config.resources.map((r) => r.config),
    options.name,
    { authFilter: options.authFilter },
  );
  // Auto-sharding needs a Role in the bridge's namespace, printed as a second document.
  return options.podSharding
    ? `${clusterRole}---\n${shardingRoleYaml(options.podSharding, options.name)}`
    : clusterRole;
}
