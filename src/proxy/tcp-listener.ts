import { connect, createServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { ListenerConfig, TimeoutConfig } from '../config/types.js'
import type { Logger } from '../log.js'
import { ClientHelloParser } from './client-hello.js'
import type { AccessRecord, AccessWriter, DataPlane } from './http-handler.js'
import { encodeProxyV1, encodeProxyV2 } from './proxy-protocol.js'
import type { PoolEndpoint, UpstreamPool } from './upstream-pool.js'

export interface TcpListenerOptions {
  config: ListenerConfig
  dataPlane: () => DataPlane
  timeouts: () => TimeoutConfig
  log: Logger
  /** Writes one access record; undefined turns access logging off. */
  accessLog?: AccessWriter
  onRecord?: (record: AccessRecord, endpoint: PoolEndpoint | undefined) => void
  /** Time a passthrough client has to send its complete ClientHello. */
  helloTimeoutMs?: number
  maxAttempts?: number
  /** Returns false when the client may not connect (access control); the socket is closed. */
  allowClient?: (ip: string) => boolean
}

/** Maps a TCP connection's outcome to an HTTP-like status for access records and metrics. */
function statusForFlag(flag: string | undefined): number {
  if (flag === undefined || flag === 'idle_timeout') return 200
  if (flag === 'downstream_reset') return 499
  if (flag === 'client_denied') return 403
  if (flag === 'no_healthy_upstream' || flag === 'unknown_service' || flag === 'upstream_overflow' || flag === 'unbound') return 503
  if (flag === 'upstream_connect_timeout') return 504
  if (flag === 'tls_hello_invalid' || flag === 'tls_hello_timeout' || flag === 'no_route') return 400
  return 502
}

/** SNI routes of a passthrough listener: exact names, then one-label wildcards, then the default. */
class SniRoutes {
  readonly #exact = new Map<string, string>()
  readonly #wildcard = new Map<string, string>()
  readonly #fallback: string | undefined

  constructor(config: ListenerConfig) {
    for (const route of config.routes) {
      for (const host of route.hosts) {
        if (host.startsWith('*.')) this.#wildcard.set(host.slice(2), route.service)
        else this.#exact.set(host, route.service)
      }
    }
    this.#fallback = config.service
  }

  select(serverName: string | undefined): string | undefined {
    if (serverName === undefined || serverName === '') return this.#fallback
    const name = serverName.toLowerCase().replace(/\.$/, '')
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    const dot = name.indexOf('.')
    if (dot > 0) {
      const wildcard = this.#wildcard.get(name.slice(dot + 1))
      if (wildcard !== undefined) return wildcard
    }
    return this.#fallback
  }
}

const HIGH_WATER_MARK = 256 * 1024

/**
 * A TCP listener that forwards each connection to an endpoint of one service, or, in
 * `tls-passthrough` mode, to the service its TLS server name (SNI) selects, without
 * terminating TLS. Half-close passes through and `pipe` applies backpressure both ways.
 */
export class TcpListener {
  readonly config: ListenerConfig
  readonly server: Server
  readonly #options: TcpListenerOptions
  readonly #routes: SniRoutes
  readonly #sockets = new Set<Socket>()

  constructor(options: TcpListenerOptions) {
    this.config = options.config
    this.#options = options
    this.#routes = new SniRoutes(options.config)
    this.server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: HIGH_WATER_MARK }, (socket) => this.#accept(socket))
  }

  /** Open downstream connections, for metrics. */
  get connections(): number {
    return this.#sockets.size
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.config.port, this.config.address, () => {
        this.server.off('error', reject)
        this.server.on('error', (err) => this.#options.log.error({ err }, 'listener error'))
        const address = this.server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : this.config.port)
      })
    })
  }

  /** Stops accepting; open connections get until `deadlineMs` to finish, then close. */
  async close(deadlineMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    const timer = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy()
    }, deadlineMs)
    await closed
    clearTimeout(timer)
  }

  #accept(client: Socket): void {
    const conn = new TcpConnection(client, this.#options)
    this.#sockets.add(client)
    client.once('close', () => this.#sockets.delete(client))
    if (this.#options.allowClient !== undefined && !this.#options.allowClient(conn.record.client)) {
      conn.finish('client_denied')
      client.destroy()
      return
    }
    if (this.#options.dataPlane().unbound !== undefined) {
      conn.finish('unbound')
      client.destroy()
      return
    }
    if (this.config.protocol === 'tls-passthrough') conn.readClientHello(this.#routes, this.#options.helloTimeoutMs ?? 10_000)
    else conn.start(this.config.service)
  }
}

/** One downstream connection and its upstream. */
class TcpConnection {
  readonly record: AccessRecord
  readonly #client: Socket
  readonly #options: TcpListenerOptions
  readonly #started = performance.now()
  readonly #buffered: Buffer[] = []
  #upstream: Socket | undefined
  #endpoint: PoolEndpoint | undefined
  #finished = false
  #sni: string | undefined

  constructor(client: Socket, options: TcpListenerOptions) {
    this.#client = client
    this.#options = options
    const ip = client.remoteAddress ?? ''
    this.record = {
      kind: 'access',
      reqId: '',
      listener: options.config.name,
      client: ip.startsWith('::ffff:') ? ip.slice(7) : ip,
      method: '',
      authority: '',
      path: '',
      proto: 'tcp',
      status: 0,
      attempts: 0,
      bytesIn: 0,
      bytesOut: 0,
      totalMs: 0,
      generation: options.dataPlane().generation,
    }
    client.on('error', (err: Error & { code?: string }) => {
      this.record.flag ??= 'downstream_reset'
      options.log.debug({ client: this.record.client, code: err.code }, 'client connection error')
    })
    client.once('close', () => this.#onClientClose())
  }

  /** Buffers bytes until the ClientHello is complete, then routes by its server name. */
  readClientHello(routes: SniRoutes, timeoutMs: number): void {
    const parser = new ClientHelloParser()
    const timer = setTimeout(() => {
      this.finish('tls_hello_timeout')
      this.#client.destroy()
    }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      this.#buffered.push(chunk)
      const result = parser.push(chunk)
      if (result.state === 'need-more') return
      clearTimeout(timer)
      this.#client.off('data', onData)
      this.#client.off('end', onEnd)
      this.#client.pause()
      if (result.state === 'invalid') {
        this.#options.log.debug({ client: this.record.client, reason: result.reason }, 'invalid TLS ClientHello')
        this.finish('tls_hello_invalid')
        this.#client.destroy()
        return
      }
      this.#sni = result.serverName
      this.record.authority = result.serverName ?? ''
      const service = routes.select(result.serverName)
      if (service === undefined) {
        this.finish('no_route')
        this.#client.destroy()
        return
      }
      this.start(service)
    }
    const onEnd = (): void => {
      clearTimeout(timer)
      this.finish('tls_hello_invalid')
      this.#client.destroy()
    }
    this.#client.on('data', onData)
    this.#client.once('end', onEnd)
  }

  start(service: string | undefined): void {
    this.#client.pause()
    const pool = service === undefined ? undefined : this.#options.dataPlane().registry.get(service)
    this.record.service = service
    if (pool === undefined) {
      this.finish('unknown_service')
      this.#client.destroy()
      return
    }
    if (pool.isFull) {
      this.finish('upstream_overflow')
      this.#client.destroy()
      return
    }
    pool.inflight++
    this.#client.once('close', () => pool.inflight--)
    this.#connect(pool, undefined)
  }

  #connect(pool: UpstreamPool, tried: Set<PoolEndpoint> | undefined): void {
    const endpoint = pool.pick({ clientIp: this.record.client, exclude: tried })
    if (endpoint === undefined) {
      this.finish(this.record.attempts === 0 ? 'no_healthy_upstream' : 'upstream_connect_failed')
      this.#client.destroy()
      return
    }
    this.record.attempts++
    this.#endpoint = endpoint
    this.record.upstream = endpoint.address
    endpoint.inflight++
    const timeouts = this.#options.timeouts()
    const upstream = connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true, noDelay: true })
    this.#upstream = upstream
    const connectTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeouts.connectMs)
    const onConnectError = (err: Error & { code?: string }): void => {
      clearTimeout(connectTimer)
      endpoint.inflight--
      this.#endpoint = undefined
      pool.recordOutcome(endpoint, { ok: false, kind: 'connect-failure' })
      this.#options.log.debug({ upstream: endpoint.address, code: err.code }, 'upstream connect failed')
      const maxAttempts = this.#options.maxAttempts ?? 3
      if (this.record.attempts < maxAttempts && !this.#client.destroyed) {
        const next = tried ?? new Set<PoolEndpoint>()
        next.add(endpoint)
        this.#connect(pool, next)
        return
      }
      this.finish(err.code === 'ETIMEDOUT' ? 'upstream_connect_timeout' : 'upstream_connect_failed')
      this.#client.destroy()
    }
    upstream.once('error', onConnectError)
    upstream.once('connect', () => {
      clearTimeout(connectTimer)
      upstream.off('error', onConnectError)
      pool.recordOutcome(endpoint, { ok: true, kind: 'ok' })
      this.#pipe(upstream, timeouts)
    })
  }

  #pipe(upstream: Socket, timeouts: TimeoutConfig): void {
    const client = this.#client
    const header = this.#proxyHeader()
    if (header !== undefined) upstream.write(header)
    for (const chunk of this.#buffered) upstream.write(chunk)
    this.#buffered.length = 0
    upstream.on('error', (err: Error & { code?: string }) => {
      this.record.flag ??= 'upstream_reset'
      this.#options.log.debug({ upstream: this.record.upstream, code: err.code }, 'upstream connection error')
      client.destroy()
    })
    upstream.once('close', () => {
      if (this.#endpoint !== undefined) {
        this.#endpoint.inflight--
        this.#endpoint = undefined
      }
      if (!client.destroyed && !client.writableEnded) client.destroy()
    })
    const onIdle = (): void => {
      this.record.flag ??= 'idle_timeout'
      client.destroy()
      upstream.destroy()
    }
    client.setTimeout(timeouts.idleMs, onIdle)
    upstream.setTimeout(timeouts.idleMs, onIdle)
    client.pipe(upstream)
    upstream.pipe(client)
    client.resume()
  }

  #proxyHeader(): string | Buffer | undefined {
    const version = this.#options.config.proxyProtocol
    if (version === undefined) return undefined
    const c = this.#client
    const info = { family: c.remoteFamily, srcIp: c.remoteAddress, srcPort: c.remotePort, dstIp: c.localAddress, dstPort: c.localPort }
    return version === 'v1' ? encodeProxyV1(info) : encodeProxyV2(info, { authority: this.#sni })
  }

  #onClientClose(): void {
    this.#upstream?.destroy()
    if (this.#endpoint !== undefined && this.#upstream === undefined) {
      this.#endpoint.inflight--
      this.#endpoint = undefined
    }
    this.finish(undefined)
  }

  /** Writes the access record once, when the connection ends or is rejected. */
  finish(flag: string | undefined): void {
    if (this.#finished) return
    this.#finished = true
    if (flag !== undefined) this.record.flag ??= flag
    this.record.bytesIn = this.#client.bytesRead
    this.record.bytesOut = this.#client.bytesWritten
    this.record.totalMs = Math.round((performance.now() - this.#started) * 1000) / 1000
    this.record.status = statusForFlag(this.record.flag)
    this.#options.accessLog?.(this.record)
    this.#options.onRecord?.(this.record, this.#endpoint)
  }
}
