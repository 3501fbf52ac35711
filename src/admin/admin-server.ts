import { readFile } from 'node:fs/promises'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { performance } from 'node:perf_hooks'
import { formatHostPort } from '../config/address.js'
import type { AdminConfig } from '../config/types.js'
import type { ControlService } from '../control/control-service.js'
import { GatewayError } from '../errors.js'
import type { Gateway } from '../gateway.js'
import type { Logger } from '../log.js'
import { CertificateWatcher } from '../tls/cert-watcher.js'
import { AdminError, describeError, sendErrorBody } from './admin-http.js'
import { registerControlRoutes } from './control-routes.js'
import type { GatewayMetrics } from './gateway-metrics.js'
import { registerGatewayRoutes, type PoolView } from './gateway-routes.js'
import { Router } from './router.js'

export interface AdminServerOptions {
  config: AdminConfig
  gateway: Gateway
  /** Serves the `/v1` control-plane routes. Without it they send `GW_ADMIN_CONTROL_DISABLED`. */
  control?: ControlService
  metrics: GatewayMetrics
  log: Logger
  /** Stat polling interval in ms of the admin TLS files, which reload on change. Default 2000. */
  certPollMs?: number
  /** Replaces the local endpoint view, such as the merged view of worker processes. */
  endpointViews?: () => Promise<PoolView[]>
}

/** A running admin API server. */
export interface AdminServer {
  readonly address: string
  /** The bound port, which differs from the configured one when that is 0. */
  readonly port: number
  /** True when the server requires client certificates (mutual TLS). */
  readonly tls: boolean
  /** Stops accepting, closes open connections and stops watching certificate files. */
  close(): Promise<void>
}

interface TlsFiles {
  cert: Buffer
  key: Buffer
  ca: Buffer
}

let nextRequestId = 0
const ID_PREFIX = `adm-${process.pid.toString(36)}-`

/**
 * Starts the admin API: JSON routes under `/v1`, `/healthz`, `/readyz` and `/metrics`. With
 * `config.tls` it serves HTTPS and requires a client certificate signed by `clientCaFile`, so a
 * client without one, with one from another CA, or with an expired one fails the handshake.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const log = options.log.child({ component: 'admin' })
  const router = new Router()
  registerGatewayRoutes(router, options)
  registerControlRoutes(router, options.control)
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    void handleRequest(router, log, req, res)
  }

  const tlsConfig = options.config.tls
  let server: Server | HttpsServer
  let watcher: CertificateWatcher | undefined
  if (tlsConfig === undefined) {
    server = createHttpServer(handle)
  } else {
    const files = await readTlsFiles(tlsConfig)
    const https = createHttpsServer(
      // A client gets 10 s to finish the handshake instead of Node's 120 s.
      { ...files, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 },
      handle,
    )
    https.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      // Node checks the client certificate once the TLS handshake is done and then destroys the
      // socket. `err` is then only ECONNRESET, and `authorizationError` contains the cause.
      const reason = socket.authorizationError ?? err.code
      const fields = { err: err.message, reason, client: socket.remoteAddress }
      log.info(fields, 'admin TLS handshake rejected')
      // Node leaves a failed or timed-out handshake's socket open; close it.
      socket.destroy()
    })
    watcher = watchTlsFiles(https, tlsConfig, log, options.certPollMs ?? 2_000)
    server = https
  }
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    log.debug({ err: err.message, code: err.code }, 'malformed admin request')
    socket.destroy()
  })

  const port = await listen(server, options.config)
  const address = formatHostPort(options.config.address, port)
  log.info({ address, tls: tlsConfig !== undefined }, 'admin API listening')
  return {
    address,
    port,
    tls: tlsConfig !== undefined,
    close: async () => {
      watcher?.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
      log.info({ address }, 'admin API closed')
    },
  }
}

async function handleRequest(
  router: Router,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now()
  const reqId = `${ID_PREFIX}${(nextRequestId++).toString(36)}`
  const method = req.method ?? 'GET'
  const url = new URL(req.url ?? '/', 'http://localhost')
  res.setHeader('x-request-id', reqId)
  res.on('finish', () => {
    const ms = Math.round(performance.now() - started)
    const fields = { reqId, method, path: url.pathname, status: res.statusCode, ms }
    // Reads are frequent (scrapes, probes), so they log at debug. Writes log at info.
    if (method === 'GET' || method === 'HEAD') log.debug(fields, 'admin request')
    else log.info(fields, 'admin request')
  })

  try {
    const found = router.lookup(method, url.pathname)
    if (found === undefined) {
      const message = `no admin route ${url.pathname}; see docs/admin-api.md for the routes`
      throw new AdminError('GW_ADMIN_NOT_FOUND', message)
    }
    if ('allowed' in found) {
      const allow = found.allowed.join(', ')
      const message = `${method} is not allowed on ${url.pathname}; allowed: ${allow}`
      throw new AdminError('GW_ADMIN_METHOD_NOT_ALLOWED', message, { allow })
    }
    await found.handler({ req, res, params: found.params, query: url.searchParams, reqId, log })
  } catch (err) {
    sendFailure(log, req, res, reqId, err)
  }
}

function sendFailure(
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  reqId: string,
  err: unknown,
): void {
  const known = describeError(err)
  if (known === undefined) {
    log.error({ err, reqId, method: req.method, path: req.url }, 'admin request failed unexpectedly')
  }
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (known === undefined) {
    const message = `internal error; the admin log has details under reqId ${reqId}`
    sendErrorBody(res, 500, { code: 'GW_ADMIN_INTERNAL', message })
    return
  }
  // A body that was not read to its end would be parsed as the next request, so close instead.
  if (!req.complete) res.shouldKeepAlive = false
  sendErrorBody(res, known.status, known.body, known.headers)
}

function listen(server: Server | HttpsServer, config: AdminConfig): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      const where = formatHostPort(config.address, config.port)
      const message = `admin API cannot listen on ${where}: ${err.message}`
      reject(new GatewayError('GW_CFG_INVALID', message, { cause: err }))
    }
    server.once('error', onError)
    server.listen(config.port, config.address, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

async function readTlsFiles(tls: NonNullable<AdminConfig['tls']>): Promise<TlsFiles> {
  const read = async (file: string, key: string): Promise<Buffer> => {
    try {
      return await readFile(file)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      const message = `admin.tls.${key}: cannot read ${file}: ${reason}`
      throw new GatewayError('GW_CFG_INVALID', message, { cause: err })
    }
  }
  const [cert, key, ca] = await Promise.all([
    read(tls.certFile, 'certFile'),
    read(tls.keyFile, 'keyFile'),
    read(tls.clientCaFile, 'clientCaFile'),
  ])
  return { cert, key, ca }
}

/**
 * Reloads the server certificate, key and client CA on change. A set that fails to load keeps
 * the old one.
 */
function watchTlsFiles(
  server: HttpsServer,
  tls: NonNullable<AdminConfig['tls']>,
  log: Logger,
  pollIntervalMs: number,
): CertificateWatcher {
  const reload = async (): Promise<void> => {
    try {
      const files = await readTlsFiles(tls)
      server.setSecureContext({ ...files, minVersion: 'TLSv1.2' })
      const fields = { certFile: tls.certFile, clientCaFile: tls.clientCaFile }
      log.info(fields, 'admin TLS files reloaded')
    } catch (err) {
      const message = 'admin TLS files rejected; the previous ones stay in use'
      log.error({ err, certFile: tls.certFile }, message)
    }
  }
  const watcher = new CertificateWatcher({
    files: [tls.certFile, tls.keyFile, tls.clientCaFile],
    pollIntervalMs,
    debounceMs: 200,
    logger: log,
    onChange: () => void reload(),
  })
  watcher.start()
  return watcher
}
