import { describe, expect, it } from 'vitest'
import {
  createBalancer,
  type BalancerPolicy,
} from '../../../../src/proxy/balancers/create-balancer.js'
import { mulberry32 } from '../../../../src/proxy/balancers/random.js'
import type { Endpoint, PickContext } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight: 0, available: true }
}

function countPicks(
  policy: BalancerPolicy,
  endpoints: Endpoint[],
  picks: number,
): Map<string, number> {
  const balancer = createBalancer({ policy }, mulberry32(7))
  balancer.update(endpoints)
  const counts = new Map<string, number>()
  for (let i = 0; i < picks; i++) {
    const ctx: PickContext = { clientIp: `10.0.${(i >> 8) & 255}.${i & 255}` }
    const endpoint = balancer.pick(ctx)
    if (endpoint !== undefined) counts.set(endpoint.id, (counts.get(endpoint.id) ?? 0) + 1)
  }
  return counts
}

const ALL_POLICIES: BalancerPolicy[] = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'consistent-hash',
  'two-choices',
]

describe('createBalancer', () => {
  // Weights 1, 2, 3, 4 over 20,000 picks. Ring placement alone shifts a consistent-hash share
  // by up to about 15% of itself, so that policy gets a wider tolerance.
  it.each([
    ['weighted-round-robin', 0.001],
    ['two-choices', 0.02],
    ['consistent-hash', 0.05],
  ] as const)('%s follows weights', (policy, tolerance) => {
    const endpoints = [1, 2, 3, 4].map((weight) => makeEndpoint(`w${weight}`, weight))
    const picks = 20_000
    const counts = countPicks(policy, endpoints, picks)
    for (const endpoint of endpoints) {
      const share = (counts.get(endpoint.id) ?? 0) / picks
      expect(share, endpoint.id).toBeGreaterThanOrEqual(endpoint.weight / 10 - tolerance)
      expect(share, endpoint.id).toBeLessThanOrEqual(endpoint.weight / 10 + tolerance)
    }
  })

  const UNWEIGHTED_WHEN_IDLE = ['round-robin', 'least-connections'] as const

  it.each(UNWEIGHTED_WHEN_IDLE)('%s ignores weights when idle', (policy) => {
    const endpoints = [1, 2, 3, 4].map((weight) => makeEndpoint(`w${weight}`, weight))
    const counts = countPicks(policy, endpoints, 4000)
    for (const endpoint of endpoints) expect(counts.get(endpoint.id), endpoint.id).toBe(1000)
  })

  it.each(ALL_POLICIES)('%s never picks a drained endpoint', (policy) => {
    const endpoints = [makeEndpoint('a'), makeEndpoint('b', 0), makeEndpoint('c')]
    const counts = countPicks(policy, endpoints, 1000)
    expect(counts.get('b')).toBeUndefined()
    expect((counts.get('a') ?? 0) + (counts.get('c') ?? 0)).toBe(1000)
  })

  it.each(ALL_POLICIES)('%s never picks an unavailable endpoint', (policy) => {
    const endpoints = [makeEndpoint('a'), makeEndpoint('b'), makeEndpoint('c')]
    endpoints[1]!.available = false
    const counts = countPicks(policy, endpoints, 1000)
    expect(counts.get('b')).toBeUndefined()
  })

  it.each(ALL_POLICIES)('%s skips an endpoint made unavailable after update', (policy) => {
    const endpoints = [makeEndpoint('a'), makeEndpoint('b')]
    const balancer = createBalancer({ policy }, mulberry32(3))
    balancer.update(endpoints)
    endpoints[0]!.available = false
    for (let i = 0; i < 50; i++) {
      expect(balancer.pick({ clientIp: `10.0.0.${i}` })?.id).toBe('b')
    }
  })

  it.each(ALL_POLICIES)('%s never picks an excluded endpoint', (policy) => {
    const endpoints = [makeEndpoint('a'), makeEndpoint('b'), makeEndpoint('c')]
    const balancer = createBalancer({ policy }, mulberry32(11))
    balancer.update(endpoints)
    const exclude = new Set([endpoints[0]!, endpoints[2]!])
    for (let i = 0; i < 200; i++) {
      expect(balancer.pick({ clientIp: `10.0.0.${i}`, exclude })?.id).toBe('b')
    }
  })

  it.each(ALL_POLICIES)('%s returns undefined when nothing is pickable', (policy) => {
    const endpoints = [makeEndpoint('a'), makeEndpoint('b')]
    const balancer = createBalancer({ policy }, mulberry32(5))
    balancer.update(endpoints)
    expect(balancer.pick({ clientIp: '10.0.0.1', exclude: new Set(endpoints) })).toBeUndefined()
    balancer.update([])
    expect(balancer.pick({ clientIp: '10.0.0.1' })).toBeUndefined()
  })

  it('rejects an unknown policy', () => {
    expect(() => createBalancer({ policy: 'random' as BalancerPolicy })).toThrow(TypeError)
  })

  it('rejects a load factor below 1', () => {
    expect(() => createBalancer({ policy: 'consistent-hash', boundedLoadFactor: 0.5 })).toThrow(
      RangeError,
    )
  })
})
