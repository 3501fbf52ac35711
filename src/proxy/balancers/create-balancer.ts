import { ConsistentHashBalancer, type HashKeySource } from './consistent-hash.js'
import { LeastConnectionsBalancer } from './least-connections.js'
import type { RandomSource } from './random.js'
import { RoundRobinBalancer } from './round-robin.js'
import { TwoChoicesBalancer } from './two-choices.js'
import type { Balancer } from './types.js'
import { WeightedRoundRobinBalancer } from './weighted-round-robin.js'

export type BalancerPolicy =
  | 'round-robin'
  | 'weighted-round-robin'
  | 'least-connections'
  | 'consistent-hash'
  | 'two-choices'

/** Load-balancing settings of one service. */
export interface BalancerSpec {
  policy: BalancerPolicy
  /** Key source for `consistent-hash`; default `client-ip`. Ignored by other policies. */
  hashOn?: HashKeySource
  /** Bounded-load factor for `consistent-hash`, at least 1; default 1.25. */
  boundedLoadFactor?: number
}

/**
 * Creates the balancer for `spec`. `random` feeds every random choice (start positions, tie
 * breaks, two-choices draws), so a seeded source makes picks repeatable.
 * Throws a TypeError for an unknown policy and a RangeError for a bad load factor.
 */
export function createBalancer(spec: BalancerSpec, random: RandomSource = Math.random): Balancer {
  switch (spec.policy) {
    case 'round-robin':
      return new RoundRobinBalancer(random)
    case 'weighted-round-robin':
      return new WeightedRoundRobinBalancer()
    case 'least-connections':
      return new LeastConnectionsBalancer()
    case 'consistent-hash':
      return new ConsistentHashBalancer({
        hashOn: spec.hashOn,
        boundedLoadFactor: spec.boundedLoadFactor,
        random,
      })
    case 'two-choices':
      return new TwoChoicesBalancer(random)
    default:
      throw new TypeError(`unknown balancer policy ${JSON.stringify(spec.policy)}`)
  }
}
