/**
 * Logging: readable lines by default, one JSON object per line on request.
 * Both go to stdout; the level comes from the config (zkts.logLevel) or the
 * ZKTS_LOG_LEVEL environment variable.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LoggerOptions {
  level: LogLevel;
  format: 'text' | 'json';
}

export function createLogger(options: LoggerOptions): Logger {
  if (options.format === 'json') {
    return pino({ level: options.level, base: { pid: process.pid } }, pino.destination({ sync: true }));
  }
  const stream = pretty({
    sync: true,
    colorize: false,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return pino({ level: options.level }, stream);
}

/** A logger that discards everything (tests and tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
