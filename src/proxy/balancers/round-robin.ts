import { isPickable, selectEligible } from './eligible.js'
import type { RandomSource } from './random.js'
import type { Balancer, Endpoint, PickContext } from './types.js'

/**
 * Plain round robin over the endpoints in rotation. Weights are ignored except that weight 0
 * drains an endpoint. Each `update()` starts at a random position so that several gateways
 * do not all send their first request to the same endpoint.
 */
export class RoundRobinBalancer implements Balancer {
  #endpoints: Endpoint[] = []
  #next = 0
  readonly #random: RandomSource

  constructor(random: RandomSource = Math.random) {
    this.#random = random
  }

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = selectEligible(endpoints)
    this.#next = Math.floor(this.#random() * this.#endpoints.length)
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const endpoints = this.#endpoints
    const count = endpoints.length

    // Availability is checked again here, because the pool may flip it before the next update().
    for (let tried = 0; tried < count; tried++) {
      const candidate = endpoints[this.#next]!
      this.#next = this.#next + 1 === count ? 0 : this.#next + 1
      if (isPickable(candidate, ctx.exclude)) return candidate
    }
    return undefined
  }
}
