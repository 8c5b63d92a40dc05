import type { Logger } from 'pino';
import { WebConfigError } from '../http/WebConfigLoader.ts';
import { KubeClient, KubeCredentialsError } from '../kube/KubeClient.ts';
import { ShardingError } from '../kube/sharding.ts';
import { StartupError } from '../service/StartupError.ts';
import { listenerSecurity } from './listenerSecurity.ts';
import type { ListenerSecurity, ListenerSecurityFlags } from './listenerSecurity.ts';
import { setUpSharding } from './sharding.ts';
import type { Sharding, ShardingFlags } from './sharding.ts';

/** What issue 9 adds to `run`: secured listeners and sharding. */
export interface RunExtras {
  readonly security: ListenerSecurity;
  readonly sharding: Sharding;
  /** Stops the StatefulSet watch and closes a client opened only for these. */
  close(): Promise<void>;
}

/**
 * Sets up the web config, the auth filter and sharding from the flags. `sourceClient` is the
 * Kubernetes source's client, shared when there is one; otherwise a client is opened only if
 * the auth filter or auto-sharding needs it. Throws StartupError with one line.
 */
export async function setUpRunExtras(
  flags: ListenerSecurityFlags &
    ShardingFlags & { kubeconfig?: string | undefined; context?: string | undefined },
  logger: Logger,
  sourceClient: KubeClient | undefined,
): Promise<RunExtras> {
  let own: KubeClient | undefined;
  const client = (): KubeClient => {
    if (sourceClient) return sourceClient;
    own ??= new KubeClient({ kubeconfig: flags.kubeconfig, context: flags.context });
    return own;
  };
  try {
    const security = listenerSecurity(flags, logger, client);
    const sharding = await setUpSharding(flags, logger, client);
    return {
      security,
      sharding,
      async close() {
        await sharding.stop();
        await own?.close();
      },
    };
  } catch (err) {
    await own?.close();
    if (err instanceof WebConfigError || err instanceof KubeCredentialsError || err instanceof ShardingError)
      throw new StartupError(err.message, { cause: err });
    throw err;
  }
}
