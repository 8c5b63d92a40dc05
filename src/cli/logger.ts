import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogFormat, LogLevel } from './logOptions.ts';

/** Structured logs on stderr (stdout stays free for command output), as JSON or logfmt. */
export function createLogger(level: LogLevel, format: LogFormat = 'json'): Logger {
  const stderr = pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level,
      base: { service: 'crd-metrics-bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'logfmt' ? logfmtStream(stderr) : stderr,
  );
}

/** Re-encodes pino's JSON lines as logfmt: `time=… level=… msg=… key=value…`. */
export function logfmtStream(out: { write(text: string): unknown }): DestinationStream {
  return {
    write(line: string) {
      out.write(toLogfmt(JSON.parse(line) as Record<string, unknown>) + '\n');
    },
  };
}

/**
 * One logfmt line (go-logfmt's rules): nested objects become dotted keys (`err.message=…`),
 * arrays JSON; a value with a space, `=`, `"`, a control character (a stack trace's newlines) or
 * nothing in it is double-quoted with JSON escapes, so every record stays on one line. Hand-written:
 * the `logfmt` package leaves newlines unescaped, which splits a record across lines.
 */
export function toLogfmt(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const pairs: string[] = [];
  const add = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) add(`${key}.${k}`, v);
      return;
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    pairs.push(`${key}=${/^[^\s="\\\p{Cc}]+$/u.test(text) ? text : JSON.stringify(text)}`);
  };
  add('time', time);
  add('level', level);
  add('msg', msg);
  for (const [key, value] of Object.entries(rest)) add(key, value);
  return pairs.join(' ');
}
