import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { Server as TlsServer } from 'node:tls'
import type { CertStore } from '../tls/cert-store.js'
import type { ListenerConfig, TimeoutConfig } from '../config/types.js'
import type { Logger } from '../log.js'
import type { HttpHandler } from './http-handler.js'
import { sendSocketError } from './error-response.js'

export interface HttpsSettings {
  store: CertStore
  /** Certificate for clients without SNI or with an unknown name; the store default when unset. */
  fallback?: string
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  alpn: string[]
}

/** Builds the reply to bytes Node's HTTP parser rejected, with the gateway's error code. */
function clientErrorReply(code: string | undefined): string {
  let status = '400 Bad Request'
  let detail = 'the request is not valid HTTP/1.1'
  if (code === 'HPE_HEADER_OVERFLOW') {
    status = '431 Request Header Fields Too Large'
    detail = 'the request line and headers are larger than the limit'
  } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = '408 Request Timeout'
    detail = 'the request headers did not arrive within timeouts.requestHeadersMs'
  }
  const body = `${status}: ${detail} (GW_ROUTE_BAD_REQUEST)\n`
  return `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\nx-portway-error: GW_ROUTE_BAD_REQUEST\r\n` +
    `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/**
 * Tells a client that sent plain HTTP to an HTTPS port what went wrong, in plain HTTP on the
 * TCP socket under the TLS one.
 * NOTE: `_parent` is Node's internal link from a server TLSSocket to its TCP socket (Node 20);
 * without it the connection just closes.
 */
function answerPlainHttp(tlsSocket: Socket): void {
  const raw = (tlsSocket as Socket & { _parent?: Socket })._parent
  if (raw === undefined || !raw.writable) return
  const body = '400 Bad Request: plain HTTP was sent to an HTTPS port; use https:// (GW_ROUTE_BAD_REQUEST)\n'
  raw.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\nx-portway-error: GW_ROUTE_BAD_REQUEST\r\n` +
    `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/** A bound downstream HTTP or HTTPS listener with graceful close. */
export class HttpListener {
  readonly config: ListenerConfig
  readonly server: Server
  readonly #log: Logger
  readonly #handler: HttpHandler
  /** Every accepted socket, including TLS ones still in their handshake, for the shutdown deadline. */
  readonly #sockets = new Set<Socket>()
  /** Open downstream connections, for metrics. */
  connections = 0

  constructor(config: ListenerConfig, handler: HttpHandler, timeouts: TimeoutConfig, log: Logger, tls?: HttpsSettings) {
    this.config = config
    this.#log = log
    this.#handler = handler
    const httpOptions = {
      keepAliveTimeout: timeouts.keepAliveMs,
      headersTimeout: timeouts.requestHeadersMs,
      // Whole-request deadlines would cut long uploads; idle and header timeouts cover stalls.
      requestTimeout: 0,
      // Node checks header deadlines on this interval (30 s by default), which made the
      // effective header timeout up to 30 s longer than configured.
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(timeouts.requestHeadersMs / 4))),
      // The handler rejects a missing Host itself, with the gateway's error code.
      requireHostHeader: false,
    }
    if (tls === undefined) {
      this.server = createServer(httpOptions)
    } else {
      this.server = createHttpsServer({
        ...httpOptions,
        ...tls.store.serverOptions(tls.fallback),
        minVersion: tls.minVersion,
        ALPNProtocols: tls.alpn,
        // A client gets as long to finish the handshake as to send its request headers.
        handshakeTimeout: timeouts.requestHeadersMs,
      })
      tls.store.attach(this.server as unknown as TlsServer, tls.fallback)
      this.server.on('tlsClientError', (err: Error & { code?: string }, socket: Socket) => {
        log.debug({ err: err.message, code: err.code }, 'TLS handshake failed')
        if (err.code === 'ERR_SSL_HTTP_REQUEST') answerPlainHttp(socket)
        // Node leaves the socket of a failed or timed-out handshake open; close it.
        socket.destroy()
      })
    }
    this.server.on('connection', (socket: Socket) => {
      this.connections++
      this.#sockets.add(socket)
      socket.once('close', () => {
        this.connections--
        this.#sockets.delete(socket)
      })
    })
    this.server.on('request', handler.handleRequest)
    // Without a listener Node drops CONNECT requests without a reply; the gateway is not a forward proxy.
    this.server.on('connect', (_req, socket: Socket) => {
      socket.on('error', () => undefined)
      sendSocketError(socket, 'GW_ROUTE_BAD_REQUEST', 'CONNECT is not supported; this gateway is a reverse proxy')
    })
    this.server.on('upgrade', handler.handleUpgrade)
    this.server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      log.debug({ err: err.message, code: err.code, client: socket.remoteAddress }, 'malformed request from client')
      if (!socket.writable || socket.destroyed) {
        socket.destroy()
        return
      }
      socket.end(clientErrorReply(err.code))
    })
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.config.port, this.config.address, () => {
        this.server.off('error', onError)
        this.server.on('error', (err) => this.#log.error({ err }, 'listener error'))
        const address = this.server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : this.config.port)
      })
    })
  }

  /** Stops accepting, waits for in-flight requests up to `deadlineMs`, then closes the rest. */
  async close(deadlineMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    const timer = setTimeout(() => {
      this.#log.warn({ deadlineMs }, 'shutdown deadline reached; closing remaining connections')
      this.server.closeAllConnections()
      // WebSocket tunnels and unfinished TLS handshakes are outside the HTTP server's bookkeeping.
      this.#handler.closeUpgraded()
      for (const socket of this.#sockets) socket.destroy()
    }, deadlineMs)
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 100)
    await closed
    clearTimeout(timer)
    clearInterval(idleSweep)
  }
}
