import { pino } from 'pino';
import type { Logger } from 'pino';

import type { LogLevel } from './logOptions.ts';

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
