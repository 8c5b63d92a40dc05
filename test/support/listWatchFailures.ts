/**
 * The bridge's `list/watch failed` log lines, except the one a healthy start can produce: right
 * after a CRD is created (or the API server starts), the API server answers a streaming list with
 * 429 "storage is (re)initializing" until that resource's watch cache is ready, and the bridge
 * retries after about a second. Any other failure means something is wrong.
 */
export function unexpectedListWatchFailures(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => /list\/watch failed/.test(line) && !/storage is \(re\)initializing/.test(line));
}
