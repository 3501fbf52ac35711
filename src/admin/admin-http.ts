import type { IncomingMessage, ServerResponse } from 'node:http'
import { isControlError, type FieldProblem } from '../control/errors.js'

/**
 * Error codes of the admin API itself and the HTTP status of each. Control-plane errors keep
 * their own `GW_CTL_*` codes and statuses, listed in `src/control/errors.ts`.
 */
export const ADMIN_ERRORS = Object.freeze({
  GW_ADMIN_INVALID_JSON: { status: 400 },
  GW_ADMIN_INVALID_QUERY: { status: 400 },
  GW_ADMIN_NOT_FOUND: { status: 404 },
  GW_ADMIN_CONTROL_DISABLED: { status: 404 },
  GW_ADMIN_METHOD_NOT_ALLOWED: { status: 405 },
  GW_ADMIN_BODY_TOO_LARGE: { status: 413 },
  GW_ADMIN_UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  GW_ADMIN_INTERNAL: { status: 500 },
} as const)

export type AdminErrorCode = keyof typeof ADMIN_ERRORS

/** An error a handler throws to send a specific admin error response. */
export class AdminError extends Error {
  readonly code: AdminErrorCode
  readonly status: number
  readonly headers: Readonly<Record<string, string>>

  constructor(code: AdminErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'AdminError'
    this.code = code
    this.status = ADMIN_ERRORS[code].status
    this.headers = headers
  }
}

/** The `error` member of every error response body. */
export interface ErrorBody {
  code: string
  message: string
  field?: string
  problems?: readonly FieldProblem[]
}

/** Maximum request body size the admin API reads, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body, null, 2) + '\n'
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  })
  res.end(text)
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, { 'cache-control': 'no-store' })
  res.end()
}

/**
 * Converts a thrown value into a status and error body. Returns undefined for an unexpected
 * error, which the caller logs and reports as `GW_ADMIN_INTERNAL`.
 */
export function describeError(
  err: unknown,
): { status: number; body: ErrorBody; headers: Record<string, string> } | undefined {
  if (err instanceof AdminError) {
    const body: ErrorBody = { code: err.code, message: err.message }
    return { status: err.status, body, headers: { ...err.headers } }
  }
  if (isControlError(err)) {
    const body: ErrorBody = { code: err.code, message: err.message }
    if (err.field !== undefined) body.field = err.field
    if (err.problems.length > 0) body.problems = err.problems
    return { status: err.status, body, headers: {} }
  }
  return undefined
}

export function sendErrorBody(
  res: ServerResponse,
  status: number,
  body: ErrorBody,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: body }, headers)
}

/**
 * Reads and parses a JSON request body of at most `MAX_BODY_BYTES`. An empty body parses as
 * `undefined`, which the control module reports as a missing object.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  checkContentType(req.headers['content-type'])
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY_BYTES) throw bodyTooLarge()

  const body = await collectBody(req)
  if (body.length === 0) return undefined

  const text = body.toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err)
    throw new AdminError('GW_ADMIN_INVALID_JSON', `request body is not valid JSON: ${detail}`)
  }
}

/**
 * Reads the body up to `MAX_BODY_BYTES`. Past the limit it rejects and discards the rest without
 * destroying the request, so the socket stays open for the 413 response.
 */
function collectBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk)
        return
      }
      req.off('data', onData)
      req.off('end', onEnd)
      req.resume()
      reject(bodyTooLarge())
    }
    const onEnd = (): void => resolve(Buffer.concat(chunks))
    req.on('data', onData)
    req.on('end', onEnd)
    req.once('error', reject)
  })
}

function checkContentType(value: string | undefined): void {
  if (value === undefined) return
  const type = value.split(';', 1)[0]!.trim().toLowerCase()
  if (type === 'application/json' || type.endsWith('+json')) return
  throw new AdminError(
    'GW_ADMIN_UNSUPPORTED_MEDIA_TYPE',
    `content-type ${JSON.stringify(value)} is not supported; send application/json`,
  )
}

function bodyTooLarge(): AdminError {
  return new AdminError(
    'GW_ADMIN_BODY_TOO_LARGE',
    `request body exceeds the limit of ${MAX_BODY_BYTES} bytes`,
    { connection: 'close' },
  )
}
