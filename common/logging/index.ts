/** Structured JSON logs (pino) with secrets and tokens redacted. */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const REDACT = [
  'password',
  '*.password',
  'new_password',
  '*.new_password',
  'confirmed_password',
  '*.confirmed_password',
  'confirm_password',
  '*.confirm_password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
];

export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  return pino({
    name,
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    ...opts,
  });
}
