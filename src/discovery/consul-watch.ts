import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type Consul from 'consul'
import { parseHealthEntries, type HealthServiceEntry } from './consul-entries.js'
import { Backoff, TokenBucket } from './consul-rate.js'

/** One Consul health query; several gateway queries that differ only in port share one. */
export interface WatchTarget {
  name: string
  datacenter?: string
  tags: readonly string[]
}

/** Kind of a failed request: `unreachable` (network, timeout, 5xx) or `rejected` (4xx, bad reply). */
export type FailureKind = 'unreachable' | 'rejected'

export interface WatchSettings {
  waitMs: number
  /** Added to the request timeout on top of `waitMs * 17/16`, Consul's maximum jitter. */
  timeoutMarginMs: number
  stale: boolean
  /** Send `passing=true`; false when warning instances are wanted. */
  passingOnly: boolean
  churnBurst: number
  churnRefillMs: number
  backoffBaseMs: number
  backoffMaxMs: number
  random: () => number
  now: () => number
}

export interface WatchHandlers {
  onEntries(entries: HealthServiceEntry[]): void
  onSuccess(): void
  onFailure(kind: FailureKind, err: Error, retryInMs: number): void
}

interface HealthReply {
  entries: HealthServiceEntry[]
  /** X-Consul-Index, or undefined when missing or unparsable. */
  index: bigint | undefined
}

/** Error a response carries: papi sets `statusCode` on HTTP errors. */
function failureKind(err: unknown): FailureKind {
  const status = (err as { statusCode?: unknown }).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) return 'rejected'
  return 'unreachable'
}

function parseIndex(header: unknown): bigint | undefined {
  if (typeof header !== 'string' || !/^\d+$/.test(header)) return undefined
  return BigInt(header)
}

/**
 * A blocking-query loop over `GET /v1/health/service/:name`. It keeps one request in flight,
 * follows Consul's index rules (reset when the index goes backwards, never block on 0), limits
 * churn with a token bucket and backs off on errors, separately from the churn limit.
 */
export class ServiceWatch {
  readonly #abort = new AbortController()
  readonly #bucket: TokenBucket
  readonly #backoff: Backoff
  #ctx: EventEmitter | undefined
  #done: Promise<void> = Promise.resolve()

  constructor(
    readonly target: WatchTarget,
    private readonly client: Consul,
    private readonly settings: WatchSettings,
    private readonly handlers: WatchHandlers,
  ) {
    this.#bucket = new TokenBucket(settings.churnBurst, settings.churnRefillMs, settings.now)
    this.#backoff = new Backoff(settings.backoffBaseMs, settings.backoffMaxMs, settings.random)
  }

  start(): void {
    this.#done = this.#run().catch(() => {})
  }

  /** Cancels the request in flight and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#abort.abort()
    this.#ctx?.emit('cancel')
    await this.#done
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#abort.signal }).catch(() => {})
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal
    let index = 0n
    let throttle = false
    while (!signal.aborted) {
      if (throttle) {
        const waitMs = this.#bucket.tryTake()
        if (waitMs > 0) {
          await this.#pause(waitMs)
          continue
        }
      }

      let reply: HealthReply
      try {
        reply = await this.#fetch(index)
      } catch (err) {
        if (signal.aborted) return
        const delay = this.#backoff.next()
        this.handlers.onFailure(failureKind(err), err as Error, delay)
        throttle = false
        await this.#pause(delay)
        continue
      }

      this.handlers.onEntries(reply.entries)
      if (reply.index === undefined || reply.index === 0n) {
        // The data is usable, but an index of 0 would make the next request return at once.
        const delay = this.#backoff.next()
        const header = reply.index ?? 'missing'
        const err = new Error(`Consul returned X-Consul-Index ${header} for ${this.target.name}`)
        this.handlers.onFailure('rejected', err, delay)
        if (index < 1n) index = 1n
        throttle = false
        await this.#pause(delay)
        continue
      }
      this.#backoff.reset()
      this.handlers.onSuccess()
      // An index that went backwards (snapshot restore, server change) restarts the loop
      // with a non-blocking read.
      index = reply.index < index ? 0n : reply.index
      throttle = true
    }
  }

  async #fetch(index: bigint): Promise<HealthReply> {
    const { waitMs, timeoutMarginMs } = this.settings
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true })
    this.#ctx = ctx
    const options: Record<string, unknown> = {
      service: this.target.name,
      ctx,
      wait: `${waitMs}ms`,
      timeout: Math.ceil((waitMs * 17) / 16) + timeoutMarginMs,
    }
    if (index > 0n) options.index = index.toString()
    if (this.settings.passingOnly) options.passing = true
    if (this.settings.stale) options.stale = true
    if (this.target.datacenter) options.dc = this.target.datacenter
    if (this.target.tags.length > 0) options.tag = [...this.target.tags]

    const result = (await this.client.health.service(options as never)) as unknown
    const [res, body] = result as [{ headers: Record<string, unknown> }, unknown]
    return { entries: parseHealthEntries(body ?? []), index: parseIndex(res.headers['x-consul-index']) }
  }
}
