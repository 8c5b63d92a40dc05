import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { authFilterGuard } from '../http/authFilter.ts';
import type { HttpServerOptions } from '../http/HttpServer.ts';
import { chainGuards } from '../http/requestGuard.ts';
import type { RequestGuard } from '../http/requestGuard.ts';
import { WebConfigLoader } from '../http/WebConfigLoader.ts';
import type { KubeClient } from '../kube/KubeClient.ts';
import { TokenReviewer } from '../kube/TokenReviewer.ts';
import { observeWebConfigReloads } from '../otel/SelfMetrics.ts';
import { StartupError } from './StartupError.ts';

/** `run` flags that secure the listeners. */
export interface ListenerSecurityFlags {
  /** exporter-toolkit web config file (TLS, basic auth, headers). */
  readonly webConfigFile?: string | undefined;
  /** Require a bearer token checked with TokenReview and SubjectAccessReview. @default false */
  readonly authFilter?: boolean | undefined;
}

export interface ListenerSecurity {
  readonly http: Pick<HttpServerOptions, 'createServer' | 'guard'>;
  /** The scheme the listeners speak. */
  readonly scheme: 'http' | 'https';
  /** Registers the web config's reload state on the bridge's own meter. */
  readonly onSelfMeter: (meter: Meter) => void;
}

/**
 * Builds TLS and authentication for both listeners from the flags. Throws WebConfigError or
 * StartupError, one line each (bad web config, basic auth combined with the auth filter).
 */
export function listenerSecurity(
  flags: ListenerSecurityFlags,
  logger: Logger,
  kubeClient: () => KubeClient,
): ListenerSecurity {
  const guards: RequestGuard[] = [];
  let createServer: HttpServerOptions['createServer'];
  let scheme: 'http' | 'https' = 'http';
  let onSelfMeter: ListenerSecurity['onSelfMeter'] = () => undefined;
  if (flags.webConfigFile) {
    const web = WebConfigLoader.load(flags.webConfigFile, logger);
    onSelfMeter = (meter) =>
      observeWebConfigReloads(meter, () => {
        web.refresh();
        return web.reloadStatus;
      });
    if (flags.authFilter && web.config.basicAuthUsers.size > 0) {
      throw new StartupError(
        `${flags.webConfigFile}: basic_auth_users: cannot be combined with --auth-filter (both use the Authorization header)`,
      );
    }
    createServer = web.createServer;
    guards.push(web.guard);
    if (web.tls) scheme = 'https';
    logger.info(
      {
        file: flags.webConfigFile,
        tls: web.tls,
        clientAuth: web.config.tls?.clientAuth,
        basicAuthUsers: web.config.basicAuthUsers.size,
      },
      'web config loaded',
    );
  }
  if (flags.authFilter) {
    guards.push(authFilterGuard({ reviewer: new TokenReviewer({ client: kubeClient() }), logger }));
    logger.info(
      'auth filter on: requests need a bearer token allowed by TokenReview and SubjectAccessReview',
    );
  }
  return { http: { createServer, guard: chainGuards(guards) }, scheme, onSelfMeter };
}
