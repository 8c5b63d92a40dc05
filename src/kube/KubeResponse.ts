import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * An answer from the API server (KubeClient hands out only 2xx ones). Its body is read once: as
 * text, as JSON, or as it arrives; gzip is inflated.
 */
export class KubeResponse {
  readonly status: number;
  private readonly _message: IncomingMessage;
  private readonly _body: Readable;

  constructor(message: IncomingMessage) {
    this._message = message;
    this.status = message.statusCode ?? 0;
    // setEncoding decodes UTF-8 across chunk boundaries.
    const gzip = /\bgzip\b/i.test(String(message.headers['content-encoding'] ?? ''));
    this._body = gzip ? message.pipe(createGunzip()) : message;
    if (gzip) message.once('error', (err) => this._body.destroy(err));
    this._body.setEncoding('utf8');
  }

  /** A response header (lower-case name), joined with ", " when repeated. */
  header(name: string): string | undefined {
    const value = this._message.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** The body's text as it arrives; the iteration throws if the connection breaks or is aborted. */
  get body(): AsyncIterable<string> {
    return this._body as AsyncIterable<string>;
  }

  async text(): Promise<string> {
    const chunks: string[] = [];
    for await (const chunk of this._body as AsyncIterable<string>) chunks.push(chunk);
    return chunks.join('');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  /** Drops the body (closes the connection if it was not read to the end). */
  cancel(): void {
    this._body.destroy();
    this._message.destroy();
  }
}
