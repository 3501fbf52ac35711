import pino, { type Logger } from 'pino'

export type { Logger }

export interface LogOptions {
  level?: string
  /** Where log lines go: `stdout`, `stderr` or a file path. */
  destination?: string
  /** Buffer writes and flush asynchronously; cheaper per line, may lose the tail on a crash. */
  asyncWrites?: boolean
}

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
]

/** Creates the root logger; every other logger is a child of it. */
export function createLogger(options: LogOptions = {}): Logger {
  const destination = resolveDestination(options)
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}

function resolveDestination(options: LogOptions): pino.DestinationStream {
  const target = options.destination ?? 'stdout'
  const sync = options.asyncWrites !== true
  if (target === 'stdout') return pino.destination({ dest: 1, sync })
  if (target === 'stderr') return pino.destination({ dest: 2, sync })
  return pino.destination({ dest: target, sync, mkdir: true })
}
