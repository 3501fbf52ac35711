import { formatHostPort } from '../config/address.js'
import type { EndpointSpec } from '../discovery/types.js'
import type { Balancer, Endpoint, PickContext } from './balancers/types.js'

/** An endpoint with the bookkeeping the gateway shows in its endpoint views. */
export interface PoolEndpoint extends Endpoint {
  spec: EndpointSpec
  /** False once the source removed it; it stays reachable by in-flight work only. */
  listed: boolean
}

export type BalancerFactory = () => Balancer

/**
 * The endpoints of one upstream service and the balancer that spreads requests over them.
 * Endpoint objects are reused across updates, by id, so in-flight counters survive a change.
 */
export class UpstreamPool {
  readonly key: string
  #endpoints: PoolEndpoint[] = []
  #byId = new Map<string, PoolEndpoint>()
  readonly #balancer: Balancer
  /** Counts endpoint set replacements; shown in endpoint views. */
  revision = 0

  constructor(key: string, balancer: Balancer) {
    this.key = key
    this.#balancer = balancer
  }

  get endpoints(): readonly PoolEndpoint[] {
    return this.#endpoints
  }

  /** Replaces the endpoint set. Removed endpoints get no new requests; in-flight ones finish. */
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
        ep.weight = spec.weight
        ep.spec = spec
        ep.available = spec.health !== 'critical'
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
    this.#balancer.update(next)
  }

  pick(ctx: PickContext): PoolEndpoint | undefined {
    return this.#balancer.pick(ctx) as PoolEndpoint | undefined
  }

  /** Re-reads endpoint availability and weights after a health change. */
  refresh(): void {
    this.#balancer.update(this.#endpoints)
  }
}

/** All upstream pools by service key. Pools are created on first use and kept while referenced. */
export class UpstreamRegistry {
  readonly #pools = new Map<string, UpstreamPool>()
  readonly #createBalancer: (key: string) => Balancer

  constructor(createBalancer: (key: string) => Balancer) {
    this.#createBalancer = createBalancer
  }

  get(key: string): UpstreamPool | undefined {
    return this.#pools.get(key)
  }

  ensure(key: string): UpstreamPool {
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      pool = new UpstreamPool(key, this.#createBalancer(key))
      this.#pools.set(key, pool)
    }
    return pool
  }

  /** Drops pools whose key is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const key of this.#pools.keys()) if (!keep.has(key)) this.#pools.delete(key)
  }

  pools(): IterableIterator<UpstreamPool> {
    return this.#pools.values()
  }
}
