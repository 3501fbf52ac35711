import { Pool, type Dispatcher } from 'undici'
import type { TimeoutConfig } from '../config/types.js'
import type { ErrorCode } from '../errors.js'
import { filterResponseHeaders } from './headers.js'
import type { AttemptFailure, AttemptSink, Exchange, Forwarder } from './exchange.js'
import type { PoolEndpoint } from './upstream-pool.js'

export interface UndiciForwarderOptions {
  timeouts: TimeoutConfig
  connectionsPerEndpoint: number
}

/**
 * Forwards plain HTTP/1.1 requests over undici connection pools, one pool per upstream
 * address, with keep-alive. Bodies stream both ways with backpressure.
 */
export class UndiciForwarder implements Forwarder {
  readonly name = 'undici'
  readonly #pools = new Map<string, Pool>()
  #options: UndiciForwarderOptions

  constructor(options: UndiciForwarderOptions) {
    this.#options = options
  }

  /** Applies new timeouts to pools created from now on; existing pools keep theirs. */
  configure(options: UndiciForwarderOptions): void {
    this.#options = options
  }

  forward(exchange: Exchange, endpoint: PoolEndpoint, sink: AttemptSink): void {
    const pool = this.#pool(endpoint.address)
    const handler = new UndiciAttempt(exchange, sink)
    pool.dispatch(
      {
        origin: undefined,
        path: exchange.req.url ?? '/',
        method: exchange.req.method as Dispatcher.HttpMethod,
        headers: exchange.upstreamHeaders,
        body: exchange.hasBody ? exchange.body ?? exchange.req : null,
        headersTimeout: exchange.route?.settings.upstreamTimeoutMs ?? this.#options.timeouts.upstreamResponseMs,
        bodyTimeout: this.#options.timeouts.idleMs,
      },
      handler as unknown as Dispatcher.DispatchHandler,
    )
  }

  /** Closes pools of addresses not in `keep`, after their in-flight requests finish. */
  retainAddresses(keep: ReadonlySet<string>): void {
    for (const [address, pool] of this.#pools) {
      if (keep.has(address)) continue
      this.#pools.delete(address)
      pool.close().catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)))
  }

  #pool(address: string): Pool {
    let pool = this.#pools.get(address)
    if (pool === undefined) {
      const t = this.#options.timeouts
      pool = new Pool(`http://${address}`, {
        connections: this.#options.connectionsPerEndpoint,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: t.connectMs },
        headersTimeout: t.upstreamResponseMs,
        bodyTimeout: t.idleMs,
        strictContentLength: true,
      })
      this.#pools.set(address, pool)
    }
    return pool
  }
}

/** One attempt's undici handler; writes the upstream response straight into the downstream one. */
class UndiciAttempt {
  readonly #exchange: Exchange
  readonly #sink: AttemptSink
  #abort: ((err?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #started = false
  #onDrain = (): void => this.#resume?.()

  constructor(exchange: Exchange, sink: AttemptSink) {
    this.#exchange = exchange
    this.#sink = sink
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort
    if (this.#exchange.downstreamClosed) {
      abort(new Error('downstream closed'))
      return
    }
    this.#exchange.cancelUpstream = () => abort(new Error('downstream closed'))
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true
    this.#started = true
    this.#resume = resume
    const res = this.#exchange.res
    this.#sink.onResponseStart(statusCode)
    const headers = filterResponseHeaders(rawHeaders)
    const extra = this.#exchange.extraResponseHeaders
    if (extra !== undefined) headers.push(...extra)
    res.writeHead(statusCode, statusText, headers)
    return true
  }

  onData(chunk: Buffer): boolean {
    this.#sink.onBodyBytes(chunk.length)
    const res = this.#exchange.res
    const ok = res.write(chunk)
    if (!ok) res.once('drain', this.#onDrain)
    return ok
  }

  onComplete(): void {
    this.#exchange.cancelUpstream = undefined
    this.#exchange.res.end()
    this.#sink.onComplete()
  }

  onError(err: Error & { code?: string }): void {
    this.#exchange.cancelUpstream = undefined
    this.#sink.onFailure(classifyUndiciError(err, this.#started))
  }

  onUpgrade(): void {
    this.#abort?.(new Error('unexpected upgrade'))
  }
}

/** Maps an undici or socket error to a gateway error code and the phase it happened in. */
export function classifyUndiciError(err: Error & { code?: string }, responseStarted: boolean): AttemptFailure {
  const code = err.code ?? ''
  const detail = err.message
  if (responseStarted) return { code: 'GW_UPSTREAM_RESET', phase: 'after-response', detail }
  const connectCodes: Record<string, ErrorCode> = {
    ECONNREFUSED: 'GW_UPSTREAM_CONNECT_FAILED',
    EHOSTUNREACH: 'GW_UPSTREAM_CONNECT_FAILED',
    ENETUNREACH: 'GW_UPSTREAM_CONNECT_FAILED',
    ENOTFOUND: 'GW_UPSTREAM_CONNECT_FAILED',
    EAI_AGAIN: 'GW_UPSTREAM_CONNECT_FAILED',
    EADDRNOTAVAIL: 'GW_UPSTREAM_CONNECT_FAILED',
    UND_ERR_CONNECT_TIMEOUT: 'GW_UPSTREAM_CONNECT_TIMEOUT',
  }
  const connectCode = connectCodes[code]
  if (connectCode !== undefined) return { code: connectCode, phase: 'connect', detail }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'GW_UPSTREAM_TIMEOUT', phase: 'before-response', detail }
  if (code.startsWith('HPE_') || err.name === 'HTTPParserError' || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return { code: 'GW_UPSTREAM_BAD_RESPONSE', phase: 'before-response', detail }
  }
  // undici validates request headers itself; a value it rejects came from the client.
  if (code === 'UND_ERR_INVALID_ARG') return { code: 'GW_ROUTE_BAD_REQUEST', phase: 'before-response', detail }
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return { code: 'GW_UPSTREAM_BAD_RESPONSE', phase: 'before-response', detail }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return { code: 'GW_ROUTE_BAD_REQUEST', phase: 'before-response', detail }
  if (code === 'GW_ROUTE_BODY_TOO_LARGE') return { code: 'GW_ROUTE_BODY_TOO_LARGE', phase: 'before-response', detail }
  if (code === 'UND_ERR_ABORTED') return { code: 'GW_DOWNSTREAM_ABORTED', phase: 'before-response', detail }
  return { code: 'GW_UPSTREAM_RESET', phase: 'before-response', detail }
}
