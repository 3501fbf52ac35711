import Consul from 'consul'
import { pino, type Logger } from 'pino'
import {
  resolveConsulConnection,
  type ConsulConnectionOptions,
  type ResolvedConsulConnection,
} from './consul-config.js'
import { sameEndpoints, toEndpoints, type HealthServiceEntry, type HealthState } from './consul-entries.js'
import { ServiceWatch, type FailureKind, type WatchSettings, type WatchTarget } from './consul-watch.js'
import type {
  DiscoveryProvider,
  EndpointListener,
  EndpointSpec,
  ProviderStatus,
  ServiceQuery,
} from './types.js'

export type { HealthState } from './consul-entries.js'

export interface ConsulProviderOptions extends ConsulConnectionOptions {
  /** Health states that get traffic; default `['passing']`. Add `'warning'` to use Weights.Warning. */
  healthStates?: HealthState[]
  /** Blocking-query wait in ms; default 55 000. Consul caps it at 10 minutes. */
  waitMs?: number
  /** Read with `?stale` so discovery keeps working without a leader; default true. */
  stale?: boolean
  /** Requests a watch may send back to back under churn; default 2. */
  churnBurst?: number
  /** Time to earn one more request once the burst is spent; default 15 000 ms. */
  churnRefillMs?: number
  /** First retry delay after an error, doubled per failure up to `backoffMaxMs`; default 500 ms. */
  backoffBaseMs?: number
  /** Cap of the retry delay; default 30 000 ms. */
  backoffMaxMs?: number
  /** Added to the request timeout on top of `waitMs * 17/16`; default 5 000 ms. */
  timeoutMarginMs?: number
  logger?: Logger
  /** Environment to read CONSUL_HTTP_* variables from; default `process.env`. */
  env?: NodeJS.ProcessEnv
  random?: () => number
  now?: () => number
}

interface WatchState {
  watch: ServiceWatch
  target: WatchTarget
  /** Gateway query keys served by this watch. */
  keys: Set<string>
  /** Latest entries; undefined until the first successful response. */
  entries?: HealthServiceEntry[]
  lastRejection?: string
}

/** Endpoints of one watched query, as the admin view lists them. */
export interface WatchedEndpoints {
  key: string
  service: string
  datacenter?: string
  endpoints: readonly EndpointSpec[]
}

function watchKeyOf(target: WatchTarget): string {
  return JSON.stringify([target.name, target.datacenter ?? '', [...target.tags].sort()])
}

/**
 * Discovery from Consul's health endpoint. Each distinct (service, datacenter, tags) gets one
 * blocking-query loop; the gateway's queries on it differ only by port filter. Errors keep the
 * last known endpoints; a 200 with `[]` is authoritative and empties the set.
 */
export class ConsulProvider implements DiscoveryProvider {
  readonly source = 'consul'
  readonly connection: ResolvedConsulConnection
  readonly #client: Consul
  readonly #settings: WatchSettings
  readonly #states: ReadonlySet<HealthState>
  readonly #log: Logger
  readonly #now: () => number
  readonly #listeners: EndpointListener[] = []
  readonly #watches = new Map<string, WatchState>()
  readonly #queries = new Map<string, { query: ServiceQuery; watchKey: string }>()
  readonly #current = new Map<string, EndpointSpec[]>()
  readonly #noHealthy = new Set<string>()
  #outage = false
  #everSucceeded = false
  #lastError: string | undefined
  #lastSuccessAt: number | undefined
  #closed = false

  constructor(options: ConsulProviderOptions = {}) {
    this.connection = resolveConsulConnection(options, options.env)
    this.#log = (options.logger ?? pino({ enabled: false })).child({ provider: 'consul' })
    this.#now = options.now ?? Date.now
    for (const warning of this.connection.warnings) this.#log.warn(warning)
    const states = options.healthStates ?? ['passing']
    if (states.length === 0) throw new Error('healthStates must name at least one of passing, warning')
    this.#states = new Set(states)
    this.#settings = {
      waitMs: options.waitMs ?? 55_000,
      timeoutMarginMs: options.timeoutMarginMs ?? 5_000,
      stale: options.stale ?? true,
      passingOnly: !this.#states.has('warning'),
      churnBurst: options.churnBurst ?? 2,
      churnRefillMs: options.churnRefillMs ?? 15_000,
      backoffBaseMs: options.backoffBaseMs ?? 500,
      backoffMaxMs: options.backoffMaxMs ?? 30_000,
      random: options.random ?? Math.random,
      now: this.#now,
    }
    this.#client = this.#createClient()
  }

  #createClient(): Consul {
    const { host, port, secure, token, ca, tlsServerName } = this.connection
    const clientOptions: Record<string, unknown> = { host, port, secure }
    if (token !== undefined) clientOptions.defaults = { token }
    if (ca !== undefined) clientOptions.ca = [ca]
    if (tlsServerName !== undefined) clientOptions.servername = tlsServerName
    return new Consul(clientOptions)
  }

  onChange(listener: EndpointListener): void {
    this.#listeners.push(listener)
  }

  setWatched(queries: readonly ServiceQuery[]): void {
    if (this.#closed) throw new Error('Consul provider is closed')
    const next = new Map<string, { query: ServiceQuery; watchKey: string }>()
    for (const query of queries) {
      const target: WatchTarget = { name: query.name, tags: [...(query.tags ?? [])] }
      const datacenter = query.datacenter ?? this.connection.datacenter
      if (datacenter !== undefined) target.datacenter = datacenter
      next.set(query.key, { query, watchKey: watchKeyOf(target) })
      if (!this.#watches.has(watchKeyOf(target))) this.#startWatch(target)
    }

    for (const [key, old] of this.#queries) {
      const replacement = next.get(key)
      if (replacement?.watchKey === old.watchKey && replacement.query.port === old.query.port) continue
      this.#watches.get(old.watchKey)?.keys.delete(key)
      this.#current.delete(key)
      this.#noHealthy.delete(key)
    }
    for (const [key, entry] of next) {
      const state = this.#watches.get(entry.watchKey)!
      if (state.keys.has(key)) continue
      state.keys.add(key)
      this.#queries.set(key, entry)
      if (state.entries) this.#publish(key, entry.query, state.entries)
    }
    for (const key of [...this.#queries.keys()]) if (!next.has(key)) this.#queries.delete(key)
    for (const [watchKey, state] of this.#watches) {
      if (state.keys.size > 0) continue
      this.#watches.delete(watchKey)
      void state.watch.stop()
    }
  }

  #startWatch(target: WatchTarget): void {
    const watchKey = watchKeyOf(target)
    const state: WatchState = { target, keys: new Set(), watch: undefined as unknown as ServiceWatch }
    state.watch = new ServiceWatch(target, this.#client, this.#settings, {
      onEntries: (entries) => this.#onEntries(state, entries),
      onSuccess: () => this.#onSuccess(state),
      onFailure: (kind, err, retryInMs) => this.#onFailure(state, kind, err, retryInMs),
    })
    this.#watches.set(watchKey, state)
    state.watch.start()
  }

  #onEntries(state: WatchState, entries: HealthServiceEntry[]): void {
    if (this.#watches.get(watchKeyOf(state.target)) !== state) return
    this.#markReachable()
    state.entries = entries
    for (const key of state.keys) {
      const entry = this.#queries.get(key)
      if (entry) this.#publish(key, entry.query, entries)
    }
  }

  /** Emits a query's endpoints when they differ from the last emitted set (or none was emitted). */
  #publish(key: string, query: ServiceQuery, entries: readonly HealthServiceEntry[]): void {
    const endpoints = toEndpoints(entries, this.#states, query.port)
    const previous = this.#current.get(key)
    if (previous && sameEndpoints(previous, endpoints)) return
    this.#current.set(key, endpoints)
    this.#logHealthyTransition(key, query, endpoints.length)
    this.#log.debug({ service: query.name, key, endpoints: endpoints.length }, 'consul endpoints changed')
    for (const listener of this.#listeners) {
      try {
        listener(key, endpoints)
      } catch (err) {
        this.#log.error({ err, key }, 'endpoint listener failed')
      }
    }
  }

  #logHealthyTransition(key: string, query: ServiceQuery, count: number): void {
    if (count === 0 && !this.#noHealthy.has(key)) {
      this.#noHealthy.add(key)
      this.#log.warn({ service: query.name, key }, `service ${query.name} has no healthy instance in Consul`)
    } else if (count > 0 && this.#noHealthy.delete(key)) {
      const fields = { service: query.name, key, endpoints: count }
      this.#log.info(fields, `service ${query.name} has healthy instances again`)
    }
  }

  #onSuccess(state: WatchState): void {
    delete state.lastRejection
  }

  /** Records a response with data; it ends an outage even when its index was unusable. */
  #markReachable(): void {
    this.#everSucceeded = true
    this.#lastSuccessAt = this.#now()
    if (!this.#outage) return
    this.#outage = false
    this.#log.info('Consul reachable again')
  }

  #onFailure(state: WatchState, kind: FailureKind, err: Error, retryInMs: number): void {
    this.#lastError = err.message
    const fields = { service: state.target.name, err: err.message, retryInMs }
    if (kind === 'unreachable') {
      if (this.#outage) {
        this.#log.debug(fields, 'Consul request failed')
        return
      }
      this.#outage = true
      this.#log.warn(fields, `Consul unreachable, keeping last known endpoints, retrying in ${retryInMs}ms`)
      return
    }
    if (state.lastRejection === err.message) {
      this.#log.debug(fields, 'Consul request rejected')
      return
    }
    state.lastRejection = err.message
    const message = `Consul rejected the health query for ${state.target.name}, retrying in ${retryInMs}ms`
    this.#log.warn(fields, message)
  }

  status(): ProviderStatus {
    const out: ProviderStatus = {
      source: this.source,
      reachable: !this.#outage && (this.#everSucceeded || this.#queries.size === 0),
      watched: this.#queries.size,
    }
    if (this.#lastError !== undefined) out.lastError = this.#lastError
    if (this.#lastSuccessAt !== undefined) out.lastSuccessAt = this.#lastSuccessAt
    return out
  }

  /** Current endpoints per watched query, sorted by key; queries without a first response are absent. */
  listEndpoints(): WatchedEndpoints[] {
    const out: WatchedEndpoints[] = []
    for (const [key, { query }] of this.#queries) {
      const endpoints = this.#current.get(key)
      if (!endpoints) continue
      const item: WatchedEndpoints = { key, service: query.name, endpoints }
      const datacenter = query.datacenter ?? this.connection.datacenter
      if (datacenter !== undefined) item.datacenter = datacenter
      out.push(item)
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1))
  }

  /** Number of blocking-query loops, one per distinct service, datacenter and tag set. */
  get loopCount(): number {
    return this.#watches.size
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const states = [...this.#watches.values()]
    this.#watches.clear()
    await Promise.all(states.map((state) => state.watch.stop()))
    this.#client.destroy()
  }
}

/** Lists the endpoints a Consul provider currently routes to, per watched query. */
export function listConsulEndpoints(provider: ConsulProvider): WatchedEndpoints[] {
  return provider.listEndpoints()
}
