import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { parseGoBool } from './goFlagValues.ts';
import type { ListenerSecurityFlags } from '../app/listenerSecurity.ts';
import type { ShardingFlags } from '../app/sharding.ts';

/**
 * `run` flags for securing the listeners (web config, auth filter) and for sharding, kept out of
 * main.ts so that file only calls these two functions.
 */
export function addListenerSecurityFlags(command: Command): Command {
  return command
    .option(
      '--web.config.file <file>',
      'exporter-toolkit web config file: TLS (tls_server_config), basic auth (basic_auth_users), response headers; applies to both listeners',
    )
    .addOption(
      // `[bool]`: kube-state-metrics' args may say `--auth-filter=true` (or false).
      new Option(
        '--auth-filter [bool]',
        'require a bearer token on both listeners, checked with TokenReview and SubjectAccessReview (as kube-state-metrics)',
      )
        .preset('true')
        .argParser(parseGoBool)
        .default(false),
    )
    .option('--shard <n>', "this instance's shard (0-based), as kube-state-metrics; default 0", parseInteger)
    .option(
      '--total-shards <n>',
      'number of shards; objects are split by metadata.uid; default 1',
      parseInteger,
    )
    .option(
      '--pod <name>',
      "auto-sharding: this pod's name (downward API); shard and total come from its StatefulSet",
    )
    .option('--pod-namespace <namespace>', "auto-sharding: this pod's namespace (downward API)");
}

/** A non-negative integer flag value, digits only (`--shard`, `--total-shards`; also `explain`'s). */
export function parseInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** The parsed flags of addListenerSecurityFlags, for RunOptions. */
export function listenerSecurityFlags(opts: Record<string, unknown>): ListenerSecurityFlags & ShardingFlags {
  return {
    webConfigFile: opts['web.config.file'] as string | undefined,
    authFilter: opts.authFilter as boolean,
    shard: opts.shard as number | undefined,
    totalShards: opts.totalShards as number | undefined,
    pod: opts.pod as string | undefined,
    podNamespace: opts.podNamespace as string | undefined,
  };
}
