import { AliasTable } from './alias-table.js'
import { isPickable, selectEligible } from './eligible.js'
import { isLessLoaded } from './least-connections.js'
import type { RandomSource } from './random.js'
import type { Balancer, Endpoint, PickContext } from './types.js'

/** Draws per candidate before a pick gives up on sampling and scans instead. */
const MAX_DRAWS = 4

/**
 * Power of two choices: draws two endpoints at random, each with probability proportional to
 * its weight, and keeps the one with the lower `inflight / weight`. With equal load the first
 * draw wins, so an idle service gives each endpoint its weight share. A pick costs O(1).
 */
export class TwoChoicesBalancer implements Balancer {
  #endpoints: Endpoint[] = []
  #table = new AliasTable([])
  readonly #random: RandomSource

  constructor(random: RandomSource = Math.random) {
    this.#random = random
  }

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = selectEligible(endpoints)
    this.#table = new AliasTable(this.#endpoints.map((endpoint) => endpoint.weight))
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const endpoints = this.#endpoints
    if (endpoints.length <= 1) {
      const only = endpoints[0]
      return only !== undefined && isPickable(only, ctx.exclude) ? only : undefined
    }

    const first = this.#draw(ctx.exclude, -1)
    if (first === -1) return this.#scan(ctx.exclude)

    let second = this.#draw(ctx.exclude, first)
    if (second === -1) second = this.#findAfter(first, ctx.exclude)
    if (second === -1) return endpoints[first]
    const a = endpoints[first]!
    const b = endpoints[second]!
    return isLessLoaded(b, a) ? b : a
  }

  /** Draws the index of a pickable endpoint other than `other`; -1 after MAX_DRAWS misses. */
  #draw(exclude: ReadonlySet<Endpoint> | undefined, other: number): number {
    for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
      const index = this.#table.draw(this.#random)
      if (index !== other && isPickable(this.#endpoints[index]!, exclude)) return index
    }
    return -1
  }

  /** Returns the next pickable index after `first`, for when draws keep hitting one endpoint. */
  #findAfter(first: number, exclude: ReadonlySet<Endpoint> | undefined): number {
    const count = this.#endpoints.length
    for (let offset = 1; offset < count; offset++) {
      const index = first + offset < count ? first + offset : first + offset - count
      if (isPickable(this.#endpoints[index]!, exclude)) return index
    }
    return -1
  }

  /** Falls back to the least-loaded pickable endpoint when draws keep hitting excluded ones. */
  #scan(exclude: ReadonlySet<Endpoint> | undefined): Endpoint | undefined {
    let best: Endpoint | undefined
    for (const candidate of this.#endpoints) {
      if (!isPickable(candidate, exclude)) continue
      if (best === undefined || isLessLoaded(candidate, best)) best = candidate
    }
    return best
  }
}
