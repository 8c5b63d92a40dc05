import { pino } from 'pino';
import type { Logger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured JSON logs on stderr (stdout stays free for command output). */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { service: 'crd-metrics-bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
