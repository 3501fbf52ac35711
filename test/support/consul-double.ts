import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { resolveCaller, requestToken, type AclConfig, type AclToken } from './consul-double-acl.js'
import { AGENT_ROUTES, decodeRegistration } from './consul-double-agent.js'
import { readBlockingParams, WaiterSet } from './consul-double-blocking.js'
import type { Reply, RouteContext } from './consul-double-context.js'
import { KvStore, kvRoutes } from './consul-double-kv.js'
import { probeChecks } from './consul-double-probe.js'
import { readCatalogService, readCatalogServices, readHealthService, type QueryResult, type ReadOptions } from './consul-double-queries.js'
import { SessionStore, sessionRoutes } from './consul-double-session.js'
import { CatalogStore, serviceTopic, servicesTopic, type CheckStatus } from './consul-double-store.js'
import { HttpError, ManualClock, readQueryBool, type Clock } from './consul-double-util.js'

export { ManualClock } from './consul-double-util.js'
export type { AclConfig, AclRule, AclToken } from './consul-double-acl.js'
export type { CheckStatus } from './consul-double-store.js'

export interface ConsulDoubleOptions {
  /** Local datacenter; default `dc1`. */
  datacenter?: string
  /** Other datacenters that `?dc` may name; any other name gets 500 `No path to datacenter`. */
  otherDatacenters?: string[]
  /** Node the agent endpoints register on; default `node-1` at 127.0.0.1. */
  nodeName?: string
  nodeAddress?: string
  /** Clock for TTLs, sessions, lock-delay and the reaper. Default: the real clock, swept every 100ms. */
  clock?: ManualClock
  /** Extra blocking time added to `wait`; default random up to wait/16, as Consul does. */
  jitter?: (waitMs: number) => number
  /** Random source for shuffling health results; `false` keeps registration order. */
  shuffle?: (() => number) | false
  acl?: Partial<AclConfig>
  /** Accept `ns` and X-Consul-Namespace, as Consul Enterprise does. */
  enterprise?: boolean
  /** Consul invalidates a TTL session after this many TTLs without renewal; default 2. */
  sessionTtlMultiplier?: number
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string; cert: string }
}

/** A fault the next matching responses get. `times` defaults to 1; use Infinity for "until cleared". */
export type Fault =
  | { status: number; body?: string; times?: number }
  | { delayMs: number; times?: number }
  | { hang: true; times?: number }
  | { reset: true; times?: number }

export interface RecordedRequest {
  route: string
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
}

interface Route {
  name: string
  method: string
  pattern: RegExp
  handle(ctx: RouteContext): Promise<Reply>
}

const TEXT = 'text/plain; charset=utf-8'
const MAX_RECORDED = 20_000
/** Routes that reach the servers and therefore fail without a leader (agent routes are local). */
const NEEDS_LEADER = /^(health|catalog|kv|session)\./

/**
 * An in-process stand-in for a Consul agent's HTTP API on loopback, with controls for the faults
 * a real cluster shows: index resets, leader loss, spurious wake-ups, slow or broken responses.
 */
export class ConsulDouble {
  readonly clock: Clock
  readonly store: CatalogStore
  readonly kv: KvStore
  readonly sessions: SessionStore
  readonly requests: RecordedRequest[] = []
  readonly localDc: string
  readonly nodeName: string
  #server: Server
  #port = 0
  readonly #sockets = new Set<Socket>()
  readonly #waiters = new WaiterSet()
  readonly #routes: Route[]
  readonly #counts = new Map<string, number>()
  readonly #faults = new Map<string, Fault[]>()
  readonly #opts: ConsulDoubleOptions
  #acl: AclConfig
  #leader = true
  #leaderLostAt = 0
  #knownLeaderHeader = true
  #legacyZeroIndex = false
  #stopClock: () => void = () => {}

  private constructor(opts: ConsulDoubleOptions) {
    this.#opts = opts
    this.clock = opts.clock ?? { now: () => Date.now() }
    this.localDc = opts.datacenter ?? 'dc1'
    this.nodeName = opts.nodeName ?? 'node-1'
    this.store = new CatalogStore(this.clock, [this.localDc, ...(opts.otherDatacenters ?? [])])
    this.sessions = new SessionStore(this.store, this.clock, opts.sessionTtlMultiplier ?? 2, () => this.kv)
    this.kv = new KvStore(this.store, (id) => this.sessions.sessions.has(id))
    this.#acl = { enabled: false, defaultPolicy: 'allow', tokens: {}, ...opts.acl }
    this.store.onChange((topics) => this.#waiters.wake(topics))
    this.#routes = [...this.#readRoutes(), ...AGENT_ROUTES, ...kvRoutes(this.kv), ...sessionRoutes(this.sessions)]
    this.#server = this.#createServer()
    this.store.upsertNode(this.localDc, {
      id: '00000000-0000-4000-8000-000000000001',
      name: this.nodeName,
      address: opts.nodeAddress ?? '127.0.0.1',
      taggedAddresses: { lan: opts.nodeAddress ?? '127.0.0.1', wan: opts.nodeAddress ?? '127.0.0.1' },
      meta: {},
    })
  }

  /** Starts a double on 127.0.0.1 with an OS-assigned port. */
  static async start(opts: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble(opts)
    await double.#listen(0)
    if (opts.clock) {
      double.#stopClock = opts.clock.onAdvance(() => double.sweep())
    } else {
      const timer = setInterval(() => double.sweep(), 100)
      timer.unref()
      double.#stopClock = () => clearInterval(timer)
    }
    return double
  }

  get port(): number {
    return this.#port
  }

  /** `127.0.0.1:<port>`, the form CONSUL_HTTP_ADDR takes. */
  get address(): string {
    return `127.0.0.1:${this.#port}`
  }

  get index(): number {
    return this.store.index
  }

  async stop(): Promise<void> {
    this.#stopClock()
    await this.#close()
  }

  /** Closes the listener, drops every connection, optionally lowers the index, and listens again on the same port. */
  async restart(opts: { index?: number } = {}): Promise<void> {
    await this.#close()
    if (opts.index !== undefined) this.restoreSnapshot(opts.index)
    this.#server = this.#createServer()
    await this.#listen(this.#port)
  }

  /** Closes the listener and drops connections without reopening; `restart` reopens it. */
  async closeListener(): Promise<void> {
    await this.#close()
  }

  // ---- controls ------------------------------------------------------------------------------

  /** Runs the clock's due work: TTL checks, the reaper and session expiry. */
  sweep(): void {
    this.store.sweep()
    this.sessions.sweep()
  }

  /** Adds a node (with a passing `serfHealth` check) that `register` can place services on. */
  addNode(name: string, address: string, opts: { dc?: string; meta?: Record<string, string> } = {}): void {
    this.store.upsertNode(opts.dc ?? this.localDc, {
      id: `node-${name}`,
      name,
      address,
      taggedAddresses: { lan: address, wan: address },
      meta: opts.meta ?? {},
    })
  }

  /** Registers a service from a registration body (as sent to `/v1/agent/service/register`) on any node. */
  register(body: Record<string, unknown>, opts: { node?: string; dc?: string } = {}): void {
    const dc = opts.dc ?? this.localDc
    const node = opts.node ?? this.nodeName
    if (!this.store.node(dc, node)) throw new Error(`unknown node ${node} in ${dc}; call addNode first`)
    const { service, checks } = decodeRegistration(body, node)
    this.store.upsertService(dc, service, checks, false)
  }

  deregister(serviceId: string, opts: { node?: string; dc?: string } = {}): void {
    this.store.removeService(opts.dc ?? this.localDc, opts.node ?? this.nodeName, serviceId)
  }

  /** Sets any check's status, HTTP and TCP checks included, as a probe result would. */
  setCheckStatus(checkId: string, status: CheckStatus, opts: { node?: string; dc?: string; output?: string } = {}): void {
    const dc = opts.dc ?? this.localDc
    const check = this.store.check(dc, opts.node ?? this.nodeName, checkId)
    if (!check) throw new Error(`unknown check ${checkId}`)
    this.store.updateCheck(dc, check, status, opts.output)
  }

  /** Sets a node's `serfHealth`, which affects every service on the node. */
  setNodeHealth(node: string, status: CheckStatus, dc = this.localDc): void {
    this.setCheckStatus('serfHealth', status, { node, dc })
  }

  /** Probes HTTP and TCP checks once (loopback targets only). */
  runChecks(): Promise<void> {
    return probeChecks(this.store)
  }

  /** Bumps a service's index with its content unchanged, like an unrelated write. */
  touchService(name: string, dc = this.localDc): void {
    this.store.commit([serviceTopic(dc, name), servicesTopic(dc)])
  }

  /** Responds to blocked readers now with an unchanged index, like a spurious wake-up. */
  releaseWaiters(route?: string): void {
    this.#waiters.release(route)
  }

  /** Number of blocked readers, optionally for one route such as `health.service`. */
  waiting(route?: string): number {
    return this.#waiters.count(route)
  }

  /** Lowers the global index, as a restore from an older snapshot does. */
  restoreSnapshot(index: number): void {
    this.store.lowerIndex(index)
    this.kv.lowerIndex(this.store.index)
  }

  /** Sends `X-Consul-Index: 0` on every read, as very old Consul versions could. */
  setLegacyZeroIndex(enabled: boolean): void {
    this.#legacyZeroIndex = enabled
  }

  /** Without a leader, default and `consistent` reads (and server writes) get 500 `No cluster leader`. */
  setLeader(present: boolean): void {
    if (!present && this.#leader) this.#leaderLostAt = this.clock.now()
    this.#leader = present
  }

  /** Sends `X-Consul-KnownLeader: false` on healthy reads, as the streaming backend can. */
  setKnownLeaderHeader(value: boolean): void {
    this.#knownLeaderHeader = value
  }

  setAcl(config: Partial<AclConfig>): void {
    this.#acl = { ...this.#acl, ...config }
  }

  /** Adds or (with `undefined`) revokes a token. */
  setToken(secret: string, token: AclToken | undefined): void {
    const tokens = { ...this.#acl.tokens }
    if (token) tokens[secret] = token
    else delete tokens[secret]
    this.#acl = { ...this.#acl, tokens }
  }

  /** Applies `fault` to the next requests of `route` (a route name such as `health.service`, or `*`). */
  inject(route: string, fault: Fault): void {
    const list = this.#faults.get(route) ?? []
    list.push({ ...fault, times: fault.times ?? 1 })
    this.#faults.set(route, list)
  }

  clearFaults(): void {
    this.#faults.clear()
  }

  /** Requests received, for one route or in total; counted before faults apply. */
  requestCount(route?: string): number {
    if (route !== undefined) return this.#counts.get(route) ?? 0
    let total = 0
    for (const n of this.#counts.values()) total += n
    return total
  }

  resetCounts(): void {
    this.#counts.clear()
    this.requests.length = 0
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  #createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res)
    const server = this.#opts.tls ? createHttpsServer(this.#opts.tls, handler) : createHttpServer(handler)
    server.on(this.#opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    return server
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.#port = (this.#server.address() as AddressInfo).port
        resolve()
      })
    })
  }

  async #close(): Promise<void> {
    this.#waiters.cancelAll()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
  }

  #match(method: string, path: string): { route: Route; params: string[] } | 'method' | undefined {
    let methodMismatch = false
    for (const route of this.#routes) {
      const match = route.pattern.exec(path)
      if (!match) continue
      if (route.method !== method) {
        methodMismatch = true
        continue
      }
      return { route, params: match.slice(1).map((part) => decodeURIComponent(part ?? '')) }
    }
    return methodMismatch ? 'method' : undefined
  }

  #takeFault(route: string): Fault | undefined {
    for (const key of [route, '*']) {
      const list = this.#faults.get(key)
      const fault = list?.[0]
      if (!list || !fault) continue
      fault.times = (fault.times ?? 1) - 1
      if (fault.times <= 0) list.shift()
      return fault
    }
    return undefined
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul-double')
    const matched = this.#match(req.method ?? 'GET', url.pathname)
    const routeName = typeof matched === 'object' ? matched.route.name : 'unknown'
    this.#counts.set(routeName, (this.#counts.get(routeName) ?? 0) + 1)
    if (this.requests.length < MAX_RECORDED) {
      this.requests.push({ route: routeName, method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers })
    }
    res.setHeader('X-Consul-Default-ACL-Policy', this.#acl.defaultPolicy)

    try {
      const fault = this.#takeFault(routeName)
      if (fault && (await this.#applyFault(fault, req, res))) return
      if (matched === undefined) throw new HttpError(404, '404 page not found')
      if (matched === 'method') throw new HttpError(405, `method ${req.method} not allowed`)
      const ctx = this.#context(req, url.searchParams, matched.params, matched.route.name)
      const reply = await matched.route.handle(ctx)
      if (reply.kind === 'read') this.#serveRead(ctx, matched.route.name, reply, res)
      else this.#send(res, reply.status ?? 200, reply.kind === 'json' ? reply.body : reply.body, reply.kind === 'raw' ? reply.contentType : undefined)
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500
      if (!res.headersSent) this.#send(res, status, (err as Error).message, TEXT)
    }
  }

  /** Returns true when the fault sent the response or dropped the request. */
  async #applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if ('status' in fault) {
      this.#send(res, fault.status, fault.body ?? '', TEXT)
      return true
    }
    if ('delayMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
      return res.destroyed
    }
    if ('reset' in fault) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096', 'X-Consul-Index': String(this.store.index) })
      res.write('[{"Node":{"ID":"')
      setImmediate(() => req.socket.resetAndDestroy())
      return true
    }
    return true
  }

  #context(req: IncomingMessage, query: URLSearchParams, params: string[], routeName: string): RouteContext {
    const ns = query.get('ns') || req.headers['x-consul-namespace']
    if (ns && !this.#opts.enterprise) throw new HttpError(400, 'Namespaces are a Consul Enterprise feature')
    const caller = resolveCaller(this.#acl, requestToken(req, query))
    const dc = query.get('dc') || this.localDc
    if (!this.store.datacenters.includes(dc)) throw new HttpError(500, 'No path to datacenter')
    const stale = readQueryBool(query, 'stale')
    const consistent = readQueryBool(query, 'consistent')
    if (stale && consistent) throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.')
    const isRead = req.method === 'GET'
    if (!this.#leader && NEEDS_LEADER.test(routeName) && !(isRead && stale)) {
      throw new HttpError(500, 'No cluster leader')
    }
    return { req, query, params, dc, localDc: this.localDc, agentNode: this.nodeName, caller, store: this.store, clock: this.clock }
  }

  #serveRead(ctx: RouteContext, route: string, reply: Extract<Reply, { kind: 'read' }>, res: ServerResponse): void {
    const { minIndex, waitMs } = readBlockingParams(ctx.query)
    const send = (result: QueryResult) => this.#sendRead(ctx, res, result)
    const first = reply.run()
    if (minIndex === 0n || BigInt(first.index) > minIndex) {
      send(first)
      return
    }
    const jitter = this.#opts.jitter ?? ((wait: number) => Math.random() * (wait / 16))
    const totalWaitMs = waitMs + Math.max(0, Math.min(jitter(waitMs), waitMs / 16))
    this.#waiters.block({ route, topics: reply.topics, minIndex, totalWaitMs, res, run: reply.run, send })
  }

  #sendRead(ctx: RouteContext, res: ServerResponse, result: QueryResult): void {
    if (res.destroyed) return
    const stale = readQueryBool(ctx.query, 'stale')
    const consistency = stale ? 'stale' : readQueryBool(ctx.query, 'consistent') ? 'consistent' : 'leader'
    // Consul clamps index 0 to 1 so a client never spins; the legacy toggle undoes that.
    res.setHeader('X-Consul-Index', this.#legacyZeroIndex ? '0' : String(Math.max(1, result.index)))
    res.setHeader('X-Consul-KnownLeader', String(this.#leader && this.#knownLeaderHeader))
    res.setHeader('X-Consul-LastContact', String(this.#leader ? 0 : Math.max(0, this.clock.now() - this.#leaderLostAt)))
    res.setHeader('X-Consul-Effective-Consistency', consistency)
    if (result.filtered && ctx.caller.token !== undefined) res.setHeader('X-Consul-Results-Filtered-By-ACLs', 'true')
    this.#send(res, result.status ?? 200, result.body, result.contentType)
  }

  #send(res: ServerResponse, status: number, body: unknown, contentType?: string): void {
    if (res.destroyed || res.headersSent) return
    const payload = contentType === undefined ? JSON.stringify(body) : (body as string | Buffer)
    res.statusCode = status
    res.setHeader('Content-Type', contentType ?? 'application/json')
    res.end(payload)
  }

  #readRoutes(): Route[] {
    const shuffle = this.#opts.shuffle === undefined ? Math.random : this.#opts.shuffle || null
    const readOptions = (ctx: RouteContext, passing: boolean): ReadOptions => ({
      dc: ctx.dc,
      tags: ctx.query.getAll('tag'),
      passing,
      filter: ctx.query.get('filter'),
      canRead: (resource, name) => ctx.caller.allowed(resource, name, 'read'),
      random: shuffle,
    })
    return [
      {
        name: 'health.service',
        method: 'GET',
        pattern: /^\/v1\/health\/service\/?(.*)$/,
        handle: async (ctx) => {
          const name = ctx.params[0] ?? ''
          if (name === '') throw new HttpError(400, 'Missing service name')
          const opts = readOptions(ctx, readQueryBool(ctx.query, 'passing'))
          const run = () => readHealthService(this.store, name, opts)
          run()
          return { kind: 'read', topics: [serviceTopic(ctx.dc, name)], run }
        },
      },
      {
        name: 'catalog.services',
        method: 'GET',
        pattern: /^\/v1\/catalog\/services$/,
        handle: async (ctx) => {
          const opts = readOptions(ctx, false)
          return { kind: 'read', topics: [servicesTopic(ctx.dc)], run: () => readCatalogServices(this.store, opts) }
        },
      },
      {
        name: 'catalog.service',
        method: 'GET',
        pattern: /^\/v1\/catalog\/service\/?(.*)$/,
        handle: async (ctx) => {
          const name = ctx.params[0] ?? ''
          if (name === '') throw new HttpError(400, 'Missing service name')
          const opts = readOptions(ctx, false)
          const run = () => readCatalogService(this.store, name, opts)
          run()
          return { kind: 'read', topics: [serviceTopic(ctx.dc, name)], run }
        },
      },
    ]
  }
}
