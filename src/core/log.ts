import { pino, type Logger } from 'pino';

/** Paths redacted from every log line, wherever they appear (one level of nesting is enough here). */
const REDACT = [
  'token',
  'password',
  'url',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.password',
  '*.url',
  '*.authorization',
  '*.private_key',
];

/**
 * JSON lines on stderr (stdout stays for command output); pretty-printed when stderr is a TTY.
 * Level from EXPORTSYNC_LOG_LEVEL (default info). Connection URLs and tokens are redacted.
 */
export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.EXPORTSYNC_LOG_LEVEL ?? 'info';
  const pretty =
    options.pretty ?? (process.stderr.isTTY === true && process.env.EXPORTSYNC_LOG_FORMAT !== 'json');
  const base = { level, redact: { paths: REDACT, censor: '***' }, base: undefined };
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname' },
      },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
