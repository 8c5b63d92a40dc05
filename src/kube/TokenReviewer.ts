import type { AccessReviewer, ReviewedUser } from '../http/authFilter.ts';
import type { KubeClient } from './KubeClient.ts';

export interface TokenReviewerOptions {
  readonly client: KubeClient;
  /** Time allowed for one review. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Asks the API server: a TokenReview (authentication.k8s.io/v1) for the token, then a
 * SubjectAccessReview (authorization.k8s.io/v1) for a non-resource URL, as controller-runtime's
 * authentication and authorization filter (kube-state-metrics `--auth-filter`) does. Needs
 * `create` on tokenreviews and subjectaccessreviews.
 */
export class TokenReviewer implements AccessReviewer {
  private readonly _client: KubeClient;
  private readonly _timeoutMs: number;

  constructor(options: TokenReviewerOptions) {
    this._client = options.client;
    this._timeoutMs = options.timeoutMs ?? 10_000;
  }

  async authenticate(token: string): Promise<ReviewedUser | undefined> {
    const review = (await this._post('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    })) as { status?: { authenticated?: boolean; user?: ReviewedUser } };
    const user = review.status?.user;
    if (review.status?.authenticated !== true || !user || typeof user.username !== 'string') return undefined;
    return user;
  }

  async authorize(
    user: ReviewedUser,
    verb: string,
    path: string,
  ): Promise<{ allowed: boolean; reason: string }> {
    const review = (await this._post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        nonResourceAttributes: { path, verb },
      },
    })) as { status?: { allowed?: boolean; reason?: string } };
    return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
  }

  private async _post(path: string, body: unknown): Promise<unknown> {
    const response = await this._client.post(path, body, AbortSignal.timeout(this._timeoutMs));
    return await response.json();
  }
}
