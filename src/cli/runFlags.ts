import type { Command } from 'commander';
import type { ListenerSecurityFlags } from './listenerSecurity.ts';

/**
 * `run` flags of issue 9 (web config, auth filter), kept out of main.ts so that file only
 * calls these two functions.
 */
export function addListenerSecurityFlags(command: Command): Command {
  return command
    .option(
      '--web.config.file <file>',
      'exporter-toolkit web config file: TLS (tls_server_config), basic auth (basic_auth_users), response headers; applies to both listeners',
    )
    .option(
      '--auth-filter',
      'require a bearer token on both listeners, checked with TokenReview and SubjectAccessReview (as kube-state-metrics)',
      false,
    );
}

/** The parsed flags of addListenerSecurityFlags, for RunOptions. */
export function listenerSecurityFlags(opts: Record<string, unknown>): ListenerSecurityFlags {
  return {
    webConfigFile: opts['web.config.file'] as string | undefined,
    authFilter: opts.authFilter as boolean,
  };
}
