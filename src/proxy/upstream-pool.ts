import { formatHostPort } from '../config/address.js'
import type { ServicePolicy } from '../config/types.js'
import type { EndpointSpec } from '../discovery/types.js'
import type { Logger } from '../log.js'
import { createBalancer } from './balancers/create-balancer.js'
import { StickySessions } from './balancers/sticky.js'
import type { Balancer, Endpoint, PickContext } from './balancers/types.js'
import { ActiveChecker } from './health/active-checker.js'
import { OutlierDetector, type RequestOutcome } from './health/outlier-detector.js'
import { ServiceHealth } from './health/service-health.js'

const RETRY_BUDGET_RATIO = 0.2
const RETRY_BUDGET_MIN = 3

/** An endpoint with the bookkeeping the gateway shows in its endpoint views. */
export interface PoolEndpoint extends Endpoint {
  spec: EndpointSpec
  /** False once the source removed it; it stays reachable by in-flight work only. */
  listed: boolean
}

export interface UpstreamPoolOptions {
  key: string
  policy: ServicePolicy
  log: Logger
  /** Random source of the balancer; seeded in tests. */
  random?: () => number
}

/**
 * The endpoints of one upstream service, its balancer and its health tracking. Endpoint
 * objects are reused across updates, by id, so in-flight counters survive a change and a
 * removed endpoint drains: it gets no new requests while the ones on it finish.
 *
 * Health precedence: the source's `critical` removes an endpoint. An active check `down` or a
 * passive ejection takes it out of rotation. Below the panic threshold all listed endpoints
 * serve again. Weight 0 always drains.
 */
export class UpstreamPool {
  readonly key: string
  readonly policy: ServicePolicy
  #endpoints: PoolEndpoint[] = []
  #byId = new Map<string, PoolEndpoint>()
  readonly #balancer: Balancer
  readonly #health: ServiceHealth
  readonly #outliers: OutlierDetector | undefined
  readonly #checker: ActiveChecker | undefined
  readonly #sticky: StickySessions | undefined
  /** Counts endpoint set replacements; shown in endpoint views. */
  revision = 0
  /** Requests or connections open on this service, for `maxConnections`. */
  inflight = 0
  /** Requests of this service that are on a retry now. */
  retrying = 0

  constructor(options: UpstreamPoolOptions) {
    const { key, policy, log } = options
    this.key = key
    this.policy = policy
    this.#balancer = createBalancer(
      { policy: policy.balancer.policy, hashOn: policy.balancer.hashOn, boundedLoadFactor: policy.balancer.boundedLoadFactor },
      options.random,
    )
    // The health components put `service` in their own log lines.
    const serviceLog = log
    this.#health = new ServiceHealth({
      service: key,
      balancer: this.#balancer,
      panicThresholdPercent: policy.panicThresholdPercent,
      slowStartMs: policy.slowStartMs,
      logger: serviceLog,
      onRotation: () => this.#sticky?.update(this.#endpoints),
    })
    const outlier = policy.outlierDetection
    if (outlier.consecutiveFailures > 0 && outlier.maxEjectionPercent > 0) {
      this.#outliers = new OutlierDetector({
        service: key,
        consecutiveFailures: outlier.consecutiveFailures,
        baseEjectionMs: outlier.baseEjectionMs,
        maxEjectionMs: outlier.maxEjectionMs,
        maxEjectionPercent: outlier.maxEjectionPercent,
        logger: serviceLog,
        onChange: (id, ejected) => this.#health.setEjected(id, ejected),
      })
    }
    const check = policy.healthCheck
    if (check !== undefined) {
      this.#checker = new ActiveChecker({
        service: key,
        config: {
          probe: check.type === 'tcp' ? { kind: 'tcp' } : { kind: 'http', path: check.path, expectedStatuses: check.expectedStatuses, host: check.host },
          intervalMs: check.intervalMs,
          timeoutMs: check.timeoutMs,
          rise: check.healthyThreshold,
          fall: check.unhealthyThreshold,
        },
        logger: serviceLog,
        onChange: (id, status) => this.#health.setActiveStatus(id, status),
      })
    }
    if (policy.stickyCookie !== undefined) this.#sticky = new StickySessions()
  }

  get endpoints(): readonly PoolEndpoint[] {
    return this.#endpoints
  }

  /** Whether a new request would exceed the service's `maxConnections`. */
  get isFull(): boolean {
    return this.policy.maxConnections > 0 && this.inflight >= this.policy.maxConnections
  }

  /** Replaces the endpoint set from its source. */
  setEndpoints(specs: readonly EndpointSpec[]): void {
    const next: PoolEndpoint[] = []
    const nextById = new Map<string, PoolEndpoint>()
    for (const spec of specs) {
      let ep = this.#byId.get(spec.id)
      if (ep === undefined || ep.host !== spec.host || ep.port !== spec.port) {
        ep = {
          id: spec.id,
          host: spec.host,
          port: spec.port,
          address: formatHostPort(spec.host, spec.port),
          weight: spec.weight,
          inflight: 0,
          available: spec.health !== 'critical',
          spec,
          listed: true,
        }
      } else {
        ep.spec = spec
      }
      next.push(ep)
      nextById.set(spec.id, ep)
    }
    for (const old of this.#endpoints) {
      if (!nextById.has(old.id)) {
        old.listed = false
        old.available = false
      }
    }
    this.#endpoints = next
    this.#byId = nextById
    this.revision++
    this.#outliers?.setEndpoints(next.map((e) => e.id))
    this.#checker?.setEndpoints(next.map((e) => ({ id: e.id, host: e.host, port: e.port })))
    this.#health.setEndpoints(next.map((endpoint) => ({ endpoint, configuredWeight: endpoint.spec.weight, sourceHealth: endpoint.spec.health })))
  }

  pick(ctx: PickContext): PoolEndpoint | undefined {
    return this.#balancer.pick(ctx) as PoolEndpoint | undefined
  }

  /** Returns the endpoint a sticky cookie pins, if it can still take the request. */
  pickPinned(cookieValue: string | undefined, exclude?: ReadonlySet<Endpoint>): PoolEndpoint | undefined {
    return this.#sticky?.find(cookieValue, exclude) as PoolEndpoint | undefined
  }

  /** Returns the sticky cookie value that pins `endpoint`. */
  stickyKey(endpoint: Endpoint): string | undefined {
    return this.#sticky?.keyOf(endpoint)
  }

  /**
   * Takes a retry from the budget: requests on a retry may be at most 20% of the service's open
   * requests, and at least 3, so that retries cannot multiply an outage. The caller releases
   * it with `releaseRetry` when the request ends. Envoy's retry budget works the same way.
   */
  tryRetry(): boolean {
    if (this.retrying >= Math.max(RETRY_BUDGET_MIN, this.inflight * RETRY_BUDGET_RATIO)) return false
    this.retrying++
    return true
  }

  releaseRetry(): void {
    this.retrying--
  }

  /** Feeds passive health with the outcome of one request or connection. */
  recordOutcome(endpoint: Endpoint, outcome: RequestOutcome): void {
    this.#outliers?.onResult(endpoint, outcome)
  }

  /** Health state of the service for views: the rotation counts and panic mode. */
  healthSummary(): { healthy: number; total: number; panic: boolean } {
    const r = this.#health.rotation
    return { healthy: r.healthy, total: r.total, panic: r.isPanic }
  }

  /** Active-check and ejection status of one endpoint, for views. */
  endpointStatus(id: string): { active?: string; ejected: boolean } {
    const state = this.#checker?.status(id)
    return { active: state, ejected: this.#outliers?.isEjected(id) ?? false }
  }

  close(): void {
    this.#checker?.stop()
    this.#outliers?.stop()
    this.#health.stop()
  }
}

/** All upstream pools by service key. Pools are created on first use and kept while referenced. */
export class UpstreamRegistry {
  readonly #pools = new Map<string, UpstreamPool>()
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  get(key: string): UpstreamPool | undefined {
    return this.#pools.get(key)
  }

  /**
   * Returns the pool for `key`, creating it, or replacing it when its policy changed. A
   * replacement keeps the endpoint set; requests on the old pool finish there.
   */
  ensure(key: string, policy: ServicePolicy): UpstreamPool {
    const current = this.#pools.get(key)
    if (current !== undefined && samePolicy(current.policy, policy)) return current
    const pool = new UpstreamPool({ key, policy, log: this.#log })
    if (current !== undefined) {
      pool.setEndpoints(current.endpoints.filter((e) => e.listed).map((e) => e.spec))
      current.close()
    }
    this.#pools.set(key, pool)
    return pool
  }

  /** Drops pools whose key is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of this.#pools) {
      if (keep.has(key)) continue
      pool.close()
      this.#pools.delete(key)
    }
  }

  pools(): IterableIterator<UpstreamPool> {
    return this.#pools.values()
  }

  close(): void {
    for (const pool of this.#pools.values()) pool.close()
    this.#pools.clear()
  }
}

function samePolicy(a: ServicePolicy, b: ServicePolicy): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}
