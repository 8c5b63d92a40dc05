/**
 * An expected reason not to start (no credentials, a missing directory, a busy port): the CLI
 * prints its message as one line and exits non-zero, without a stack trace.
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }
}
