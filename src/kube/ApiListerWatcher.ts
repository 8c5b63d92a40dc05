import { parseKubeJson } from '../go/kubeJson.ts';
import type { KubeClient } from './KubeClient.ts';
import type { KubeObject, WatchEvent } from './KubeObject.ts';
import type { ListerWatcher, ListPage, ListRequest, WatchRequest } from './ListerWatcher.ts';
import type { ReflectorTarget } from './Reflector.ts';

/** The ListerWatcher of one collection on a real API server: HTTP, watch framing and JSON decoding. */
export class ApiListerWatcher implements ListerWatcher {
  private readonly _client: KubeClient;
  private readonly _target: ReflectorTarget;

  constructor(client: KubeClient, target: ReflectorTarget) {
    this._client = client;
    this._target = target;
  }

  async list(request: ListRequest, signal: AbortSignal): Promise<ListPage> {
    const response = await this._client.get(
      this._target.path,
      {
        limit: request.limit === undefined ? undefined : String(request.limit),
        continue: request.continue,
        resourceVersion: request.resourceVersion || undefined,
        resourceVersionMatch: request.resourceVersionMatch,
        labelSelector: this._target.labelSelector,
        fieldSelector: this._target.fieldSelector,
      },
      signal,
    );
    const page = parseKubeJson(await response.text()) as {
      items?: KubeObject[] | null;
      metadata?: { continue?: string; resourceVersion?: string };
    };
    return {
      items: page.items ?? [],
      continue: page.metadata?.continue || undefined,
      resourceVersion: page.metadata?.resourceVersion ?? '',
    };
  }

  async watch(request: WatchRequest, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const response = await this._client.get(
      this._target.path,
      {
        watch: '1',
        resourceVersion: request.resourceVersion || undefined,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(request.timeoutSeconds),
        // A streaming list must say which resourceVersion it starts from; NotOlderThan with none
        // (or the last one) is what client-go sends.
        sendInitialEvents: request.sendInitialEvents ? 'true' : undefined,
        resourceVersionMatch: request.sendInitialEvents ? 'NotOlderThan' : undefined,
        labelSelector: this._target.labelSelector,
        fieldSelector: this._target.fieldSelector,
      },
      signal,
    );
    return decodeWatchStream(response.body);
  }

  refreshCredentials(): Promise<void> {
    return this._client.refreshCredentials();
  }
}

/** Splits a watch body (one JSON event per line; text, or bytes decoded as UTF-8) into events. */
export async function* decodeWatchStream(
  body: AsyncIterable<string> | AsyncIterable<Uint8Array>,
): AsyncGenerator<WatchEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline: number;
    while ((newline = buffer.indexOf('\n', start)) >= 0) {
      const line = buffer.slice(start, newline);
      start = newline + 1;
      if (line.trim() === '') continue;
      const event = parseKubeJson(line) as { type?: string; object?: KubeObject };
      yield { type: event.type ?? '', object: event.object ?? {} };
    }
    buffer = buffer.slice(start);
  }
}
