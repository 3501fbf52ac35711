import { isPickable, selectEligible } from './eligible.js'
import { hashClientIp, hashString } from './hash.js'
import { buildHashRing, findRingPosition, type HashRing } from './hash-ring.js'
import type { RandomSource } from './random.js'
import { RoundRobinBalancer } from './round-robin.js'
import type { Balancer, Endpoint, PickContext } from './types.js'

/** Source of the hash key in a request. Header names are matched case-insensitively. */
export type HashKeySource = 'client-ip' | { header: string } | { cookie: string }

export interface ConsistentHashOptions {
  hashOn?: HashKeySource
  /**
   * Bounded-load factor c: an endpoint takes a new request only while its in-flight count
   * stays within ceil(c * weight share * (total in flight + 1)). Must be at least 1, and
   * `Infinity` turns the bound off. Default 1.25.
   */
  boundedLoadFactor?: number
  /** Random source for the round-robin fallback used when a request has no key. */
  random?: RandomSource
}

const DEFAULT_BOUNDED_LOAD_FACTOR = 1.25

/**
 * Consistent hashing on a ring with weighted points, with bounded loads (Mirrokni, Thorup and
 * Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2017): when the endpoint a key maps
 * to is over capacity, the walk goes on to the next endpoint on the ring. A request without a
 * key falls back to round robin. A pick costs O(log points), plus a pass over the endpoints to
 * total their in-flight counts when the first candidate is busy.
 */
export class ConsistentHashBalancer implements Balancer {
  #endpoints: Endpoint[] = []
  #ring: HashRing = { hashes: new Uint32Array(0), owners: new Uint32Array(0) }
  // Marks endpoints already seen during one walk. A new stamp per pick avoids clearing it.
  #visited = new Uint32Array(0)
  #stamp = 0
  #totalInflight = 0
  #totalWeight = 0
  readonly #fallback: RoundRobinBalancer
  readonly #keyKind: 'client-ip' | 'header' | 'cookie'
  readonly #keyName: string
  readonly #loadFactor: number

  constructor(options: ConsistentHashOptions = {}) {
    const hashOn = options.hashOn ?? 'client-ip'
    const factor = options.boundedLoadFactor ?? DEFAULT_BOUNDED_LOAD_FACTOR
    if (!(factor >= 1)) {
      throw new RangeError(`invalid boundedLoadFactor ${factor}: expected a number >= 1`)
    }
    this.#loadFactor = factor
    this.#fallback = new RoundRobinBalancer(options.random)
    if (hashOn === 'client-ip') {
      this.#keyKind = 'client-ip'
      this.#keyName = ''
    } else if ('header' in hashOn) {
      this.#keyKind = 'header'
      this.#keyName = hashOn.header.toLowerCase()
    } else {
      this.#keyKind = 'cookie'
      this.#keyName = hashOn.cookie
    }
  }

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = selectEligible(endpoints)
    this.#ring = buildHashRing(this.#endpoints)
    this.#visited = new Uint32Array(this.#endpoints.length)
    this.#stamp = 0
    this.#fallback.update(endpoints)
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const hash = this.#hashKey(ctx)
    if (hash === undefined) return this.#fallback.pick(ctx)
    return this.pickForHash(hash, ctx.exclude)
  }

  /** Walks the ring from `hash` to the first pickable endpoint within its load bound. */
  pickForHash(hash: number, exclude?: ReadonlySet<Endpoint>): Endpoint | undefined {
    const { hashes, owners } = this.#ring
    const points = hashes.length
    if (points === 0) return undefined

    const stamp = this.#nextStamp()
    let position = findRingPosition(hashes, hash)
    let seen = 0
    let hasTotals = false
    let overloaded: Endpoint | undefined

    for (let step = 0; step < points && seen < this.#endpoints.length; step++) {
      const owner = owners[position]!
      position = position + 1 === points ? 0 : position + 1
      if (this.#visited[owner] === stamp) continue
      this.#visited[owner] = stamp
      seen++

      const candidate = this.#endpoints[owner]!
      if (!isPickable(candidate, exclude)) continue
      // An idle endpoint is always within its bound, whose capacity is at least 1.
      if (candidate.inflight === 0 || this.#loadFactor === Infinity) return candidate

      if (!hasTotals) this.#sumLoad()
      hasTotals = true
      const capacity = Math.ceil(
        (this.#loadFactor * (this.#totalInflight + 1) * candidate.weight) / this.#totalWeight,
      )
      if (candidate.inflight + 1 <= capacity) return candidate
      overloaded ??= candidate
    }
    // Only exclusions can leave every candidate over its bound, since capacities sum past the load.
    return overloaded
  }

  #hashKey(ctx: PickContext): number | undefined {
    if (this.#keyKind === 'client-ip') {
      return ctx.clientIp === '' ? undefined : hashClientIp(ctx.clientIp)
    }
    const key =
      this.#keyKind === 'header' ? ctx.header?.(this.#keyName) : ctx.cookie?.(this.#keyName)
    return key === undefined || key === '' ? undefined : hashString(key)
  }

  /** Totals in-flight requests and weight over the endpoints in rotation, into two fields. */
  #sumLoad(): void {
    let inflight = 0
    let weight = 0
    for (const endpoint of this.#endpoints) {
      if (!endpoint.available || !(endpoint.weight > 0)) continue
      inflight += endpoint.inflight
      weight += endpoint.weight
    }
    this.#totalInflight = inflight
    this.#totalWeight = weight
  }

  #nextStamp(): number {
    this.#stamp = this.#stamp === 0xffffffff ? 1 : this.#stamp + 1
    if (this.#stamp === 1) this.#visited.fill(0)
    return this.#stamp
  }
}
