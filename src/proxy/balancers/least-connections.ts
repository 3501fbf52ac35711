import { isPickable, selectEligible } from './eligible.js'
import type { Balancer, Endpoint, PickContext } from './types.js'

/**
 * Weighted least connections: picks the endpoint with the lowest `inflight / weight`. Ties go
 * to the first candidate in a rotating order, so equal endpoints take turns.
 *
 * NOTE: a pick scans every endpoint in rotation (O(n), no allocation), because the pool owns
 * the in-flight counters and changes them without telling the balancer, so no index over them
 * can stay sorted. For large sets, two-choices costs O(1) and balances nearly as well.
 */
export class LeastConnectionsBalancer implements Balancer {
  #endpoints: Endpoint[] = []
  #start = 0

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = selectEligible(endpoints)
    this.#start = 0
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const endpoints = this.#endpoints
    const count = endpoints.length
    if (count === 0) return undefined

    const start = this.#start
    this.#start = start + 1 === count ? 0 : start + 1

    let best: Endpoint | undefined
    for (let offset = 0; offset < count; offset++) {
      const index = start + offset < count ? start + offset : start + offset - count
      const candidate = endpoints[index]!
      if (!isPickable(candidate, ctx.exclude)) continue
      if (best === undefined || isLessLoaded(candidate, best)) best = candidate
    }
    return best
  }
}

/** Compares `inflight / weight` by cross-multiplying, which stays exact for integer counts. */
export function isLessLoaded(a: Endpoint, b: Endpoint): boolean {
  return a.inflight * b.weight < b.inflight * a.weight
}
