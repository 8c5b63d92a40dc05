import type { IncomingMessage } from 'node:http';

/** What a guard decides for one request. */
export interface GuardVerdict {
  /** Headers added to the response, whatever it is (web config headers, WWW-Authenticate). */
  readonly headers?: Readonly<Record<string, string>>;
  /** When set, the request ends here with this status and body (401, 403). */
  readonly deny?: { readonly status: number; readonly body: string };
}

/** Runs before routing: adds headers and may answer the request itself (authentication). */
export type RequestGuard = (request: IncomingMessage, path: string) => Promise<GuardVerdict> | GuardVerdict;

/** Paths that kubelet probes: never behind basic auth or the auth filter (they reveal nothing). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

/** Runs guards in order; headers accumulate, the first denial wins. */
export function chainGuards(guards: readonly RequestGuard[]): RequestGuard | undefined {
  if (guards.length === 0) return undefined;
  if (guards.length === 1) return guards[0];
  return async (request, path) => {
    const headers: Record<string, string> = {};
    for (const guard of guards) {
      const verdict = await guard(request, path);
      Object.assign(headers, verdict.headers);
      if (verdict.deny) return { headers, deny: verdict.deny };
    }
    return { headers };
  };
}
