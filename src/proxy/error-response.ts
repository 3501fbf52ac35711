import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { ERRORS, type ErrorCode } from '../errors.js'

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Content Too Large',
  421: 'Misdirected Request',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * Sends the gateway's own error reply: JSON when the client accepts it, plain text otherwise.
 * The code also goes out in the `x-portway-error` header so scripts can branch on it.
 */
export function sendError(res: ServerResponse, code: ErrorCode, detail: string, acceptJson: boolean, closeConnection = false): void {
  const status = ERRORS[code].status
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const reason = REASONS[status] ?? 'Error'
  const body = acceptJson
    ? JSON.stringify({ error: { status, code, message: detail } }) + '\n'
    : `${status} ${reason}: ${detail} (${code})\n`
  const headers: Record<string, string | number> = {
    'content-type': acceptJson ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-portway-error': code,
  }
  if (closeConnection) headers.connection = 'close'
  res.writeHead(status, reason, headers)
  res.end(body)
}

/** Writes a minimal HTTP/1.1 error reply on a raw socket, for failed upgrades. */
export function sendSocketError(socket: Socket, code: ErrorCode, detail: string): void {
  if (socket.destroyed) return
  const status = ERRORS[code].status
  const body = `${status} ${REASONS[status] ?? 'Error'}: ${detail} (${code})\n`
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-portway-error: ${code}\r\nconnection: close\r\n\r\n${body}`,
  )
}

export function acceptsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json')
}

/** Sends a 308 redirect that keeps the method, path and query (RFC 9110 section 15.4.9). */
export function sendRedirect(res: ServerResponse, location: string): void {
  const body = `308 Permanent Redirect: ${location}\n`
  res.writeHead(308, 'Permanent Redirect', {
    location,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}
