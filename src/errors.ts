/**
 * Stable error codes of the data plane and configuration loader. Each code maps to the HTTP
 * status a client receives and to the short flag written in the access record.
 * Codes are never reused once retired.
 */
export const ERRORS = Object.freeze({
  GW_CFG_INVALID: { status: 500, flag: 'config_invalid' },
  GW_CFG_READ_FAILED: { status: 500, flag: 'config_read_failed' },
  GW_ROUTE_NOT_FOUND: { status: 404, flag: 'no_route' },
  GW_ROUTE_MISSING_HOST: { status: 400, flag: 'missing_host' },
  GW_ROUTE_BAD_REQUEST: { status: 400, flag: 'bad_request' },
  GW_ROUTE_MISDIRECTED: { status: 421, flag: 'misdirected' },
  GW_ROUTE_DENIED: { status: 403, flag: 'client_denied' },
  GW_ROUTE_BODY_TOO_LARGE: { status: 413, flag: 'body_too_large' },
  GW_UPSTREAM_NO_ENDPOINT: { status: 503, flag: 'no_healthy_upstream' },
  GW_UPSTREAM_UNKNOWN_SERVICE: { status: 503, flag: 'unknown_service' },
  GW_UPSTREAM_OVERFLOW: { status: 503, flag: 'upstream_overflow' },
  GW_UPSTREAM_CONNECT_FAILED: { status: 502, flag: 'upstream_connect_failed' },
  GW_UPSTREAM_RESET: { status: 502, flag: 'upstream_reset' },
  GW_UPSTREAM_BAD_RESPONSE: { status: 502, flag: 'upstream_bad_response' },
  GW_UPSTREAM_TIMEOUT: { status: 504, flag: 'upstream_timeout' },
  GW_UPSTREAM_CONNECT_TIMEOUT: { status: 504, flag: 'upstream_connect_timeout' },
  GW_DOWNSTREAM_ABORTED: { status: 499, flag: 'downstream_aborted' },
  GW_LISTEN_UNBOUND: { status: 503, flag: 'unbound' },
  GW_LISTEN_SHUTTING_DOWN: { status: 503, flag: 'shutting_down' },
} as const)

export type ErrorCode = keyof typeof ERRORS

/** The one error class of the gateway: branch on `code`, never on the message. */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly status: number

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GatewayError'
    this.code = code
    this.status = ERRORS[code].status
  }
}

/** One problem found while validating a file, with enough context to fix it. */
export interface Problem {
  file: string
  /** JSON-style path of the offending field, e.g. `listeners[0].port`. */
  path: string
  /** 1-based line in the file, when known. */
  line?: number
  message: string
}

/** Formats a problem as `file:line: path: message`. */
export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`
}
