// The logging flags' choices, apart from the logger so parsing flags does not load pino.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
