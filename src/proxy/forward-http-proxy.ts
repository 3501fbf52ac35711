import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import httpProxy from 'http-proxy'
import type { TimeoutConfig } from '../config/types.js'
import type { AttemptFailure, AttemptSink, Exchange, Forwarder } from './exchange.js'
import { stripResponseHeaders } from './headers.js'
import type { PoolEndpoint } from './upstream-pool.js'

export interface HttpProxyForwarderOptions {
  timeouts: TimeoutConfig
  connectionsPerEndpoint: number
}

export interface UpgradeHandlers {
  /** Time the upstream has to respond to the upgrade request. */
  timeoutMs: number
  onResponse(status: number): void
  onError(failure: AttemptFailure): void
}

/** Per-attempt state that http-proxy's events look up from the request. */
interface AttemptState {
  exchange: Exchange
  sink: AttemptSink
  settled: boolean
  responded: boolean
  proxyReq?: ClientRequest
  timer?: NodeJS.Timeout
}

const kAttempt = Symbol('portway.attempt')
type TaggedRequest = IncomingMessage & { [kAttempt]?: AttemptState }

/**
 * Forwards HTTP requests and WebSocket upgrades with http-proxy over a keep-alive agent.
 * Request headers must already be rewritten on `req.headers` (see `rewriteUpstreamHeaders`).
 */
export class HttpProxyForwarder implements Forwarder {
  readonly name = 'http-proxy'
  readonly #proxy: httpProxy
  readonly #agent: Agent
  #timeouts: TimeoutConfig

  constructor(options: HttpProxyForwarderOptions) {
    this.#timeouts = options.timeouts
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.connectionsPerEndpoint, scheduling: 'lifo' })
    this.#proxy = httpProxy.createProxyServer({ agent: this.#agent, xfwd: false, ws: true, prependPath: false })
    this.#proxy.on('proxyReq', (proxyReq, req) => this.#onProxyReq(proxyReq, req as TaggedRequest))
    this.#proxy.on('proxyRes', (proxyRes, req) => this.#onProxyRes(proxyRes, req as TaggedRequest))
    this.#proxy.on('end', (req) => this.#onEnd(req as TaggedRequest))
    this.#proxy.on('proxyReqWs', (proxyReq, req) => this.#onProxyReqWs(proxyReq, req))
    // http-proxy reports a reset caused by the client leaving here instead of the callback.
    this.#proxy.on('econnreset', (_err, req) => this.#fail(req as TaggedRequest, { code: 'GW_DOWNSTREAM_ABORTED', phase: 'before-response', detail: 'client closed the connection' }))
  }

  configure(options: HttpProxyForwarderOptions): void {
    this.#timeouts = options.timeouts
  }

  forward(exchange: Exchange, endpoint: PoolEndpoint, sink: AttemptSink): void {
    const req = exchange.req as TaggedRequest
    const state: AttemptState = { exchange, sink, settled: false, responded: false }
    req[kAttempt] = state
    const timeoutMs = exchange.route?.settings.upstreamTimeoutMs ?? this.#timeouts.upstreamResponseMs
    state.timer = setTimeout(() => {
      const phase = state.proxyReq?.socket?.connecting === true ? 'connect' : 'before-response'
      this.#fail(req, {
        code: phase === 'connect' ? 'GW_UPSTREAM_CONNECT_TIMEOUT' : 'GW_UPSTREAM_TIMEOUT',
        phase,
        detail: `no response from ${endpoint.address} within ${timeoutMs} ms`,
      })
      state.proxyReq?.destroy()
    }, timeoutMs)
    exchange.cancelUpstream = () => {
      state.settled = true
      clearTimeout(state.timer)
      state.proxyReq?.destroy()
    }
    this.#proxy.web(exchange.req, exchange.res, { target: `http://${endpoint.address}`, buffer: exchange.body }, (err: Error & { code?: string }) => {
      this.#fail(req, classifySocketError(err, state.responded))
    })
  }

  /**
   * Proxies a WebSocket upgrade to `endpoint`. `onError` runs at most once, also when the
   * upstream sends no response within `timeoutMs`; `onResponse` gets the upstream's status.
   */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, endpoint: PoolEndpoint, handlers: UpgradeHandlers): void {
    let settled = false
    const fail = (failure: AttemptFailure): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      handlers.onError(failure)
    }
    const timer = setTimeout(() => {
      fail({ code: 'GW_UPSTREAM_TIMEOUT', phase: 'before-response', detail: `no upgrade response within ${handlers.timeoutMs} ms` })
      pending.get(req)?.destroy()
    }, handlers.timeoutMs)
    const pending = this.#pendingUpgrades
    // A client that leaves before the upstream responds must not leave the upstream request open.
    socket.once('close', () => {
      clearTimeout(timer)
      pending.get(req)?.destroy()
      pending.delete(req)
    })
    this.#upgradeHandlers.set(req, {
      socket,
      onResponse: (status) => {
        settled = true
        clearTimeout(timer)
        handlers.onResponse(status)
      },
    })
    this.#proxy.ws(req, socket, head, { target: `http://${endpoint.address}` }, (err: Error & { code?: string }) => {
      fail(classifySocketError(err, false))
    })
  }

  readonly #pendingUpgrades = new WeakMap<IncomingMessage, ClientRequest>()
  readonly #upgradeHandlers = new WeakMap<IncomingMessage, { socket: Socket; onResponse(status: number): void }>()

  #onProxyReqWs(proxyReq: ClientRequest, req: IncomingMessage): void {
    this.#pendingUpgrades.set(req, proxyReq)
    const entry = this.#upgradeHandlers.get(req)
    proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Socket) => {
      entry?.onResponse(101)
      if (entry === undefined) return
      // http-proxy pipes the two sockets but does not close one when the other is destroyed.
      const closeUpstream = (): void => {
        upstream.destroy()
      }
      if (entry.socket.destroyed) closeUpstream()
      else entry.socket.once('close', closeUpstream)
      upstream.once('close', () => entry.socket.destroy())
    })
    proxyReq.once('response', (res: IncomingMessage) => entry?.onResponse(res.statusCode ?? 502))
  }

  async close(): Promise<void> {
    this.#proxy.close()
    this.#agent.destroy()
  }

  #onProxyReq(proxyReq: ClientRequest, req: TaggedRequest): void {
    const state = req[kAttempt]
    if (state === undefined) return
    state.proxyReq = proxyReq
    const socket = proxyReq.socket
    if (socket?.connecting === true) {
      const connectTimer = setTimeout(() => {
        this.#fail(req, { code: 'GW_UPSTREAM_CONNECT_TIMEOUT', phase: 'connect', detail: `connect did not finish within ${this.#timeouts.connectMs} ms` })
        proxyReq.destroy()
      }, this.#timeouts.connectMs)
      socket.once('connect', () => clearTimeout(connectTimer))
      socket.once('close', () => clearTimeout(connectTimer))
    }
  }

  #onProxyRes(proxyRes: IncomingMessage, req: TaggedRequest): void {
    const state = req[kAttempt]
    if (state === undefined || state.settled) return
    clearTimeout(state.timer)
    state.responded = true
    stripResponseHeaders(proxyRes.headers)
    // The sink may add response fields (such as Connection: close while draining), so it runs first.
    state.sink.onResponseStart(proxyRes.statusCode ?? 502)
    addResponseHeaders(proxyRes.headers, state.exchange.extraResponseHeaders)
    proxyRes.on('data', (chunk: Buffer) => state.sink.onBodyBytes(chunk.length))
    proxyRes.on('aborted', () => {
      this.#fail(req, { code: 'GW_UPSTREAM_RESET', phase: 'after-response', detail: 'upstream closed the connection mid-response' })
      ;(state.exchange.res as ServerResponse).destroy()
    })
  }

  #onEnd(req: TaggedRequest): void {
    const state = req[kAttempt]
    if (state === undefined || state.settled) return
    state.settled = true
    clearTimeout(state.timer)
    state.exchange.cancelUpstream = undefined
    state.sink.onComplete()
  }

  #fail(req: TaggedRequest, failure: AttemptFailure): void {
    const state = req[kAttempt]
    if (state === undefined || state.settled) return
    state.settled = true
    clearTimeout(state.timer)
    state.exchange.cancelUpstream = undefined
    state.sink.onFailure(failure)
  }
}

/** Adds the gateway's response fields; a Set-Cookie joins the upstream's instead of replacing them. */
function addResponseHeaders(headers: IncomingMessage['headers'], extra: string[] | undefined): void {
  if (extra === undefined) return
  for (let i = 0; i < extra.length; i += 2) {
    const name = extra[i]!.toLowerCase()
    const value = extra[i + 1]!
    if (name === 'set-cookie') headers['set-cookie'] = [...(headers['set-cookie'] ?? []), value]
    else headers[name] = value
  }
}

function classifySocketError(err: Error & { code?: string }, responded: boolean): AttemptFailure {
  const code = err.code ?? ''
  const detail = err.message
  if (responded) return { code: 'GW_UPSTREAM_RESET', phase: 'after-response', detail }
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code)) {
    return { code: 'GW_UPSTREAM_CONNECT_FAILED', phase: 'connect', detail }
  }
  if (code.startsWith('HPE_')) return { code: 'GW_UPSTREAM_BAD_RESPONSE', phase: 'before-response', detail }
  if (code === 'GW_ROUTE_BODY_TOO_LARGE') return { code: 'GW_ROUTE_BODY_TOO_LARGE', phase: 'before-response', detail }
  return { code: 'GW_UPSTREAM_RESET', phase: 'before-response', detail }
}
