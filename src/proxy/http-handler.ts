import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { ERRORS, type ErrorCode } from '../errors.js'
import type { Logger } from '../log.js'
import type { TLSSocket } from 'node:tls'
import { Transform, type TransformCallback } from 'node:stream'
import { normalizeHost, type CompiledRoute, type RoutingTable } from '../ingress/routing-table.js'
import type { AccessList, CanarySplit } from '../ingress/annotations.js'
import type { CidrSet } from '../util/cidr.js'
import { acceptsJson, sendError, sendRedirect, sendSocketError } from './error-response.js'
import type { AttemptFailure, AttemptSink, Exchange, Forwarder } from './exchange.js'
import type { HttpProxyForwarder } from './forward-http-proxy.js'
import { buildSetCookie, readCookie } from './balancers/sticky.js'
import { buildUpstreamHeaders, rewriteUpstreamHeaders } from './headers.js'
import type { PoolEndpoint, UpstreamPool, UpstreamRegistry } from './upstream-pool.js'

export type AccessWriter = (record: AccessRecord) => void

/** One generation of routing state. Requests keep the generation they started with. */
export interface DataPlane {
  readonly generation: number
  readonly table: RoutingTable
  readonly registry: UpstreamRegistry
  /** Reason the gateway carries no traffic (an SLB bound to no cluster); undefined when serving. */
  readonly unbound?: string
}

/** A finished request or upgrade, as the access log and metrics see it. */
export interface AccessRecord {
  kind: 'access'
  reqId: string
  listener: string
  client: string
  method: string
  authority: string
  path: string
  proto: string
  status: number
  route?: string
  service?: string
  upstream?: string
  upstreamStatus?: number
  flag?: string
  attempts: number
  bytesIn: number
  bytesOut: number
  totalMs: number
  upstreamMs?: number
  generation: number
}

export interface HttpHandlerOptions {
  listener: string
  proto: 'http' | 'https'
  dataPlane: () => DataPlane
  forwarder: Forwarder
  /** Handles upgrades, and plain requests too when it is also `forwarder`. */
  upgrader: HttpProxyForwarder
  /** Writes one access record; undefined turns access logging off. */
  accessLog?: AccessWriter
  log: Logger
  /** Called once per finished request, after the access record is built. */
  onRecord?: (record: AccessRecord, endpoint: PoolEndpoint | undefined) => void
  /** Called when an attempt on an endpoint ends, for passive health tracking. */
  onAttemptResult?: (pool: UpstreamPool, endpoint: PoolEndpoint, failure: AttemptFailure | undefined, status?: number) => void
  isDraining: () => boolean
  maxAttempts: number
  /** HTTPS only: whether the certificate chosen for an SNI name covers a host. */
  certCovers?: (servername: string | undefined, host: string) => boolean
  /** Clients whose X-Forwarded-Proto is believed, such as an outer TLS terminator. */
  trustedProxies?: CidrSet
  /** Listener-wide client access list. */
  access?: AccessList
  /** Returns the current `timeouts.upstreamResponseMs`, which also bounds the upstream's response to an upgrade. */
  upstreamTimeoutMs: () => number
  /** Returns the port for redirects to HTTPS; 443 is left out of the URL. */
  httpsPort?: () => number | undefined
  /** Whether an HTTPS listener can serve this host with a certificate that covers it. */
  servesHttps?: (host: string) => boolean
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
let nextRequestId = 0
const ID_PREFIX = `${process.pid.toString(36)}-`

/** Routes downstream HTTP requests and upgrades to upstream endpoints. */
export class HttpHandler {
  readonly #options: HttpHandlerOptions
  readonly #usesHeaderList: boolean

  constructor(options: HttpHandlerOptions) {
    this.#options = options
    this.#usesHeaderList = options.forwarder !== (options.upgrader as Forwarder)
  }

  handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const dp = this.#options.dataPlane()
    const exchange = new ProxyExchange(req, res, this.#options, dp.generation)
    res.on('close', exchange.onDownstreamClose)
    if (this.#options.isDraining()) res.shouldKeepAlive = false

    const listenerAccess = this.#options.access
    if (listenerAccess !== undefined && !isAllowed(listenerAccess, exchange.clientIp)) {
      exchange.reject('GW_ROUTE_DENIED', `client ${exchange.clientIp} is not allowed on listener ${this.#options.listener}`, true)
      return
    }
    if (dp.unbound !== undefined) {
      exchange.reject('GW_LISTEN_UNBOUND', dp.unbound)
      return
    }
    const host = req.headers.host
    if (host === undefined || host === '') {
      exchange.reject('GW_ROUTE_MISSING_HOST', 'the request has no Host header', true)
      return
    }
    // RFC 9112 section 3.2: more than one Host line, or an invalid value, gets a 400.
    const hostProblem = checkHost(req.rawHeaders, host)
    if (hostProblem !== undefined) {
      exchange.reject('GW_ROUTE_BAD_REQUEST', hostProblem, true)
      return
    }
    const url = req.url ?? '/'
    if (url.charCodeAt(0) !== 47) {
      exchange.reject('GW_ROUTE_BAD_REQUEST', 'the request target must be a path starting with "/"')
      return
    }
    const match = dp.table.match(host, exchange.path)
    if (match === undefined) {
      exchange.reject('GW_ROUTE_NOT_FOUND', `no rule matches host "${host}" and path "${exchange.path}"`)
      return
    }
    const route = match.route
    exchange.route = route
    const access = route.settings.access
    if (access !== undefined && !isAllowed(access, exchange.clientIp)) {
      exchange.reject('GW_ROUTE_DENIED', `client ${exchange.clientIp} is not allowed on route ${route.name}`)
      return
    }
    const maxBody = route.settings.maxBodyBytes
    if (maxBody !== undefined && exchange.hasBody) {
      if (Number(req.headers['content-length'] ?? 0) > maxBody) {
        exchange.reject('GW_ROUTE_BODY_TOO_LARGE', `the request body is larger than ${maxBody} bytes, the limit of route ${route.name}`, true)
        return
      }
      if (req.headers['content-length'] === undefined) exchange.body = req.pipe(new BodyLimit(maxBody, route.name))
    }
    if (this.#options.proto === 'https') {
      if (this.#isMisdirected(req, host)) {
        exchange.reject('GW_ROUTE_MISDIRECTED', `the certificate for this connection does not cover host "${host}"; connect with that server name`)
        return
      }
      if (route.hsts !== undefined) exchange.addResponseHeader('strict-transport-security', route.hsts)
    } else if (route.redirectToHttps && exchange.proto === 'http' && this.#options.servesHttps?.(normalizeHost(host)) === true) {
      const port = this.#options.httpsPort?.()
      const authority = normalizeHost(host) + (port === undefined || port === 443 ? '' : `:${port}`)
      sendRedirect(res, `https://${authority}${url}`)
      return
    }
    const service = route.canary !== undefined && chooseCanary(route.canary, req) ? route.canary.service : route.service
    exchange.service = service
    const pool = dp.registry.get(service)
    if (pool === undefined) {
      exchange.reject('GW_UPSTREAM_UNKNOWN_SERVICE', `service "${service}" is not known`)
      return
    }
    if (pool.isFull) {
      exchange.reject('GW_UPSTREAM_OVERFLOW', `service "${pool.key}" already has ${pool.inflight} open requests (maxConnections)`)
      return
    }
    exchange.pool = pool
    pool.inflight++
    if (this.#usesHeaderList) {
      exchange.upstreamHeaders = buildUpstreamHeaders(req.rawHeaders, req.headers.connection, exchange)
    } else {
      rewriteUpstreamHeaders(req.headers, exchange)
    }
    exchange.attempt()
  }

  #isMisdirected(req: IncomingMessage, host: string): boolean {
    const covers = this.#options.certCovers
    if (covers === undefined) return false
    const servername = (req.socket as TLSSocket).servername
    // Without SNI (clients connecting by IP, health probes) there is no name to disagree with.
    if (typeof servername !== 'string' || servername === '') return false
    const sni = servername
    const normalized = normalizeHost(host)
    if (sni.toLowerCase() === normalized) return false
    return !covers(sni, normalized)
  }

  handleUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => undefined)
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase()
    if (upgrade !== 'websocket') {
      this.#serveWithoutUpgrade(req, socket, head)
      return
    }
    const started = performance.now()
    const dp = this.#options.dataPlane()
    const host = req.headers.host ?? ''
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const record = baseRecord(this.#options, req, host, path, dp.generation)
    let done = false
    const finish = (status: number, flag: string | undefined, endpoint?: PoolEndpoint): void => {
      if (done) return
      done = true
      record.status = status
      record.flag = flag
      record.totalMs = round(performance.now() - started)
      this.#options.accessLog?.(record)
      this.#options.onRecord?.(record, endpoint)
    }
    const refuse = (code: ErrorCode, detail: string): void => {
      sendSocketError(socket, code, detail)
      finish(ERRORS[code].status, ERRORS[code].flag)
    }
    // Upgrades pass the same admission checks as plain requests.
    const listenerAccess = this.#options.access
    if (listenerAccess !== undefined && !isAllowed(listenerAccess, record.client)) {
      refuse('GW_ROUTE_DENIED', `client ${record.client} is not allowed on listener ${this.#options.listener}`)
      return
    }
    if (dp.unbound !== undefined) return refuse('GW_LISTEN_UNBOUND', dp.unbound)
    if (this.#options.isDraining()) return refuse('GW_LISTEN_SHUTTING_DOWN', 'the gateway is shutting down')
    if (host === '') return refuse('GW_ROUTE_MISSING_HOST', 'the request has no Host header')
    const match = dp.table.match(host, path)
    if (match === undefined) return refuse('GW_ROUTE_NOT_FOUND', `no rule matches host "${host}" and path "${path}"`)
    const route = match.route
    record.route = route.name
    const access = route.settings.access
    if (access !== undefined && !isAllowed(access, record.client)) {
      refuse('GW_ROUTE_DENIED', `client ${record.client} is not allowed on route ${route.name}`)
      return
    }
    const service = route.canary !== undefined && chooseCanary(route.canary, req) ? route.canary.service : route.service
    record.service = service
    const pool = dp.registry.get(service)
    if (pool === undefined) return refuse('GW_UPSTREAM_UNKNOWN_SERVICE', `service "${service}" is not known`)
    if (pool.isFull) return refuse('GW_UPSTREAM_OVERFLOW', `service "${service}" already has ${pool.inflight} open requests (maxConnections)`)
    const endpoint = pool.pick({ clientIp: record.client })
    if (endpoint === undefined) return refuse('GW_UPSTREAM_NO_ENDPOINT', `service "${service}" has no available endpoint`)
    record.upstream = endpoint.address
    record.attempts = 1
    const forwarded = req.headers['x-forwarded-for']
    req.headers['x-forwarded-for'] = forwarded === undefined ? record.client : `${String(forwarded)}, ${record.client}`
    req.headers['x-forwarded-proto'] = this.#options.proto
    req.headers['x-forwarded-host'] = host
    endpoint.inflight++
    pool.inflight++
    this.#upgraded.add(socket)
    let upstreamStatus = 101
    socket.once('close', () => {
      this.#upgraded.delete(socket)
      endpoint.inflight--
      pool.inflight--
      finish(upstreamStatus, upstreamStatus === 101 ? 'upgrade' : undefined, endpoint)
    })
    this.#options.upgrader.upgrade(req, socket, head, endpoint, {
      timeoutMs: route.settings.upstreamTimeoutMs ?? this.#options.upstreamTimeoutMs(),
      onResponse: (status) => {
        upstreamStatus = status
        record.upstreamStatus = status
      },
      onError: (failure) => {
        this.#options.onAttemptResult?.(pool, endpoint, failure)
        sendSocketError(socket, failure.code, `upstream ${endpoint.address}: ${describeFailure(failure)}`)
        finish(ERRORS[failure.code].status, ERRORS[failure.code].flag, endpoint)
      },
    })
  }

  /** Sockets that became tunnels after an upgrade; the HTTP server no longer tracks them. */
  readonly #upgraded = new Set<Socket>()

  /** Closes every upgraded connection, for the end of a shutdown. */
  closeUpgraded(): void {
    for (const socket of this.#upgraded) socket.destroy()
  }

  /**
   * Serves a request whose Upgrade is not WebSocket (such as `h2c`) over plain HTTP/1.1, as if
   * the header were absent: Upgrade is hop-by-hop and a server may ignore it (RFC 9110 section
   * 7.8). Node has already detached the socket from its parser, so the response closes it.
   */
  #serveWithoutUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (head.length > 0 || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) {
      sendSocketError(socket, 'GW_ROUTE_BAD_REQUEST', `upgrade to "${String(req.headers.upgrade)}" is not supported; send the request without an Upgrade header`)
      return
    }
    const res = new ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket)
    res.once('finish', () => {
      res.detachSocket(socket)
      socket.end()
    })
    this.handleRequest(req, res)
  }

}

function baseRecord(options: HttpHandlerOptions, req: IncomingMessage, host: string, path: string, generation: number): AccessRecord {
  return {
    kind: 'access',
    reqId: ID_PREFIX + (nextRequestId++).toString(36),
    listener: options.listener,
    client: clientAddress(req.socket),
    method: req.method ?? '',
    authority: host,
    path,
    proto: options.proto,
    status: 0,
    attempts: 0,
    bytesIn: 0,
    bytesOut: 0,
    totalMs: 0,
    generation,
  }
}

function clientAddress(socket: Socket): string {
  const ip = socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** Per-request state; also the sink its forwarder reports each attempt to. */
class ProxyExchange implements Exchange, AttemptSink {
  readonly id: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly startedAt = performance.now()
  readonly clientIp: string
  readonly proto: 'http' | 'https'
  readonly path: string
  readonly hasBody: boolean
  route?: CompiledRoute
  /** Service key chosen for the route: its own, or its canary's. */
  service?: string
  pool?: UpstreamPool
  endpoint?: PoolEndpoint
  upstreamHeaders?: string[]
  body?: Transform
  extraResponseHeaders?: string[]
  upstreamStartedAt = 0
  upstreamHeadersAt = 0
  upstreamStatus?: number
  attempts = 0
  bytesOut = 0
  flag?: string
  errorCode?: ErrorCode
  downstreamClosed = false
  cancelUpstream?: () => void
  readonly #options: HttpHandlerOptions
  readonly #generation: number
  readonly #bytesReadAtStart: number
  /** The request's socket; `req.socket` is detached once the response is done. */
  readonly #socket: Socket
  #tried: Set<PoolEndpoint> | undefined
  #current: PoolEndpoint | undefined

  constructor(req: IncomingMessage, res: ServerResponse, options: HttpHandlerOptions, generation: number) {
    this.id = ID_PREFIX + (nextRequestId++).toString(36)
    this.req = req
    this.res = res
    this.#options = options
    this.#generation = generation
    this.clientIp = clientAddress(req.socket)
    // Behind a trusted TLS terminator, the request counts as HTTPS so it is not redirected.
    const forwardedHttps = options.proto === 'http' && options.trustedProxies !== undefined &&
      req.headers['x-forwarded-proto'] === 'https' && options.trustedProxies.has(this.clientIp)
    this.proto = forwardedHttps ? 'https' : options.proto
    this.#socket = req.socket
    this.#bytesReadAtStart = req.socket.bytesRead
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    this.path = q === -1 ? url : url.slice(0, q)
    const length = req.headers['content-length']
    this.hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
  }

  /** Sends one attempt to the next endpoint the balancer picks. */
  attempt(): void {
    const pool = this.pool!
    const endpoint = this.#pick(pool)
    if (endpoint === undefined) {
      if (this.attempts === 0) {
        this.reject('GW_UPSTREAM_NO_ENDPOINT', `service "${pool.key}" has no available endpoint`)
      }
      return
    }
    this.attempts++
    this.endpoint = endpoint
    this.#current = endpoint
    endpoint.inflight++
    this.upstreamStartedAt = performance.now()
    this.#options.forwarder.forward(this, endpoint, this)
  }

  #pick(pool: UpstreamPool): PoolEndpoint | undefined {
    const sticky = pool.policy.stickyCookie
    if (sticky === undefined) return pool.pick(this)
    const cookie = readCookie(this.req.headers.cookie, sticky.name)
    const pinned = pool.pickPinned(cookie, this.#tried)
    if (pinned !== undefined) return pinned
    const endpoint = pool.pick(this)
    const key = endpoint === undefined ? undefined : pool.stickyKey(endpoint)
    if (key !== undefined) this.addResponseHeader('set-cookie', buildSetCookie(sticky.name, key, { maxAgeSeconds: sticky.maxAgeSeconds }))
    return endpoint
  }

  addResponseHeader(name: string, value: string): void {
    this.extraResponseHeaders ??= []
    this.extraResponseHeaders.push(name, value)
  }

  /** PickContext: the endpoints this request already tried. */
  get exclude(): ReadonlySet<PoolEndpoint> | undefined {
    return this.#tried
  }

  /** PickContext: a request header for hash policies. */
  header(name: string): string | undefined {
    const value = this.req.headers[name]
    return Array.isArray(value) ? value[0] : value
  }

  /** PickContext: a request cookie for hash policies. */
  cookie(name: string): string | undefined {
    return readCookie(this.req.headers.cookie, name)
  }

  onResponseStart(status: number): void {
    this.upstreamStatus = status
    this.upstreamHeadersAt = performance.now()
    // A response that starts during shutdown carries Connection: close, so the client reconnects elsewhere.
    if (this.#options.isDraining()) {
      this.res.shouldKeepAlive = false
      this.addResponseHeader('connection', 'close')
    }
  }

  onBodyBytes(bytes: number): void {
    this.bytesOut += bytes
  }

  onComplete(): void {
    const endpoint = this.#endAttempt()
    if (endpoint !== undefined) this.#options.onAttemptResult?.(this.pool!, endpoint, undefined, this.upstreamStatus)
  }

  onFailure(failure: AttemptFailure): void {
    const endpoint = this.#endAttempt()
    if (endpoint !== undefined && failure.code !== 'GW_DOWNSTREAM_ABORTED' && !this.downstreamClosed) {
      this.#options.onAttemptResult?.(this.pool!, endpoint, failure)
    }
    if (this.downstreamClosed || failure.code === 'GW_DOWNSTREAM_ABORTED') {
      this.flag = ERRORS.GW_DOWNSTREAM_ABORTED.flag
      return
    }
    if (endpoint !== undefined && this.#mayRetry(failure)) {
      this.#tried ??= new Set()
      this.#tried.add(endpoint)
      this.#options.log.debug({ reqId: this.id, upstream: endpoint.address, code: failure.code }, 'retrying on another endpoint')
      this.attempt()
      if (this.#current !== undefined) return
    }
    if (failure.phase === 'after-response' || this.res.headersSent) {
      this.flag = ERRORS[failure.code].flag
      this.errorCode = failure.code
      this.res.destroy()
      return
    }
    if (failure.code === 'GW_ROUTE_BODY_TOO_LARGE') {
      this.reject(failure.code, failure.detail, true)
      return
    }
    const where = endpoint === undefined ? '' : `upstream ${endpoint.address}: `
    this.reject(failure.code, `${where}${describeFailure(failure)}`)
  }

  /** Rejects the request with the gateway's own error reply. */
  reject(code: ErrorCode, detail: string, closeConnection = false): void {
    this.errorCode = code
    this.flag = ERRORS[code].flag
    sendError(this.res, code, detail, acceptsJson(this.req.headers.accept), closeConnection || this.#options.isDraining())
  }

  onDownstreamClose = (): void => {
    if (this.pool !== undefined) {
      this.pool.inflight--
      if (this.#holdsRetry) this.pool.releaseRetry()
    }
    if (!this.res.writableFinished) {
      this.downstreamClosed = true
      this.flag ??= ERRORS.GW_DOWNSTREAM_ABORTED.flag
      this.cancelUpstream?.()
    }
    this.#writeRecord()
  }

  #mayRetry(failure: AttemptFailure): boolean {
    if (this.attempts >= this.#options.maxAttempts || this.hasBody || this.res.headersSent) return false
    // A reset before any response byte is safe to replay only for idempotent requests.
    const safe = failure.phase === 'connect' ||
      (failure.phase === 'before-response' && failure.code === 'GW_UPSTREAM_RESET' && IDEMPOTENT.has(this.req.method ?? ''))
    if (!safe) return false
    if (this.#holdsRetry) return true
    if (!this.pool!.tryRetry()) {
      this.#options.log.debug({ reqId: this.id, service: this.pool!.key }, 'retry budget exhausted; not retrying')
      return false
    }
    this.#holdsRetry = true
    return true
  }

  #holdsRetry = false

  #endAttempt(): PoolEndpoint | undefined {
    const endpoint = this.#current
    if (endpoint !== undefined) {
      endpoint.inflight--
      this.#current = undefined
    }
    return endpoint
  }

  #writeRecord(): void {
    const now = performance.now()
    const record: AccessRecord = {
      kind: 'access',
      reqId: this.id,
      listener: this.#options.listener,
      client: this.clientIp,
      method: this.req.method ?? '',
      authority: this.req.headers.host ?? '',
      path: this.path,
      proto: this.proto,
      status: this.downstreamClosed && !this.res.headersSent ? 499 : this.res.statusCode,
      route: this.route?.name,
      service: this.service ?? this.route?.service,
      upstream: this.endpoint?.address,
      upstreamStatus: this.upstreamStatus,
      flag: this.flag,
      attempts: this.attempts,
      bytesIn: this.#socket.bytesRead - this.#bytesReadAtStart,
      bytesOut: this.bytesOut,
      totalMs: round(now - this.startedAt),
      upstreamMs: this.upstreamHeadersAt === 0 ? undefined : round(this.upstreamHeadersAt - this.upstreamStartedAt),
      generation: this.#generation,
    }
    this.#options.accessLog?.(record)
    this.#options.onRecord?.(record, this.endpoint)
  }
}

const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::(\d{1,5}))?$/

/** Returns why the Host header is unacceptable, or undefined when it is fine. */
export function checkHost(rawHeaders: readonly string[], host: string): string | undefined {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') count++
  }
  if (count > 1) return 'the request has more than one Host header'
  const m = HOST_VALUE.exec(host)
  if (m === null || (m[1] !== undefined && Number(m[1]) > 65535)) return `the Host header "${host.slice(0, 100)}" is not a valid host[:port]`
  return undefined
}

/** Passes a chunked request body through and fails once it exceeds the route's limit. */
class BodyLimit extends Transform {
  #bytes = 0
  readonly #max: number
  readonly #route: string

  constructor(max: number, route: string) {
    super()
    this.#max = max
    this.#route = route
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length
    if (this.#bytes > this.#max) {
      done(Object.assign(new Error(`the request body is larger than ${this.#max} bytes, the limit of route ${this.#route}`), { code: 'GW_ROUTE_BODY_TOO_LARGE' }))
      return
    }
    done(null, chunk)
  }
}

/** Applies an access list: deny wins, and an allow list admits only its blocks. */
export function isAllowed(access: AccessList, ip: string): boolean {
  if (access.deny?.has(ip) === true) return false
  return access.allow === undefined || access.allow.has(ip)
}

/**
 * Decides whether a request goes to the canary. A header, then a cookie, decide when present
 * (`always`/`never`, or the configured header value). Otherwise the weight decides.
 */
function chooseCanary(canary: CanarySplit, req: IncomingMessage): boolean {
  if (canary.header !== undefined) {
    const raw = req.headers[canary.header]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (value !== undefined) {
      if (canary.headerValue !== undefined) {
        if (value === canary.headerValue) return true
      } else if (value === 'always') {
        return true
      } else if (value === 'never') {
        return false
      }
    }
  }
  if (canary.cookie !== undefined) {
    const value = readCookie(req.headers.cookie, canary.cookie)
    if (value === 'always') return true
    if (value === 'never') return false
  }
  return canary.weight > 0 && Math.random() * canary.weightTotal < canary.weight
}

function describeFailure(failure: AttemptFailure): string {
  switch (failure.code) {
    case 'GW_UPSTREAM_CONNECT_FAILED':
      return `connection failed (${failure.detail})`
    case 'GW_UPSTREAM_CONNECT_TIMEOUT':
      return 'connect timed out'
    case 'GW_UPSTREAM_TIMEOUT':
      return 'no response headers before the upstream timeout'
    case 'GW_UPSTREAM_RESET':
      return `connection reset before a response (${failure.detail})`
    case 'GW_UPSTREAM_BAD_RESPONSE':
      return `invalid HTTP response (${failure.detail})`
    default:
      return failure.detail
  }
}
