import { describe, expect, it } from 'vitest'
import { AliasTable } from '../../../../src/proxy/balancers/alias-table.js'
import { mulberry32 } from '../../../../src/proxy/balancers/random.js'
import { TwoChoicesBalancer } from '../../../../src/proxy/balancers/two-choices.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1, inflight = 0): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight, available: true }
}

describe('TwoChoicesBalancer', () => {
  it('prefers the less-loaded of two endpoints', () => {
    const balancer = new TwoChoicesBalancer(mulberry32(1))
    balancer.update([makeEndpoint('busy', 1, 50), makeEndpoint('idle', 1, 0)])
    for (let i = 0; i < 100; i++) expect(balancer.pick({ clientIp: '' })?.id).toBe('idle')
  })

  it('keeps held load close to even', () => {
    const endpoints = Array.from({ length: 10 }, (_, i) => makeEndpoint(`e${i}`))
    const balancer = new TwoChoicesBalancer(mulberry32(42))
    balancer.update(endpoints)
    for (let i = 0; i < 1000; i++) balancer.pick({ clientIp: '' })!.inflight++
    const loads = endpoints.map((endpoint) => endpoint.inflight)
    // Random choice alone would spread 1000 requests to roughly 70..130 per endpoint.
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(4)
  })

  it('sends the busiest endpoint the fewest picks', () => {
    const endpoints = [makeEndpoint('a', 1, 10), makeEndpoint('b', 1, 5), makeEndpoint('c', 1, 0)]
    const balancer = new TwoChoicesBalancer(mulberry32(9))
    balancer.update(endpoints)
    const counts = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const id = balancer.pick({ clientIp: '' })!.id
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    expect(counts.get('a') ?? 0).toBe(0)
    expect(counts.get('c')!).toBeGreaterThan(counts.get('b')!)
  })
})

describe('AliasTable', () => {
  it('draws in proportion to weight', () => {
    const table = new AliasTable([1, 0, 3, 6])
    const random = mulberry32(3)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 100_000; i++) counts[table.draw(random)]!++
    expect(counts[0]! / 100_000).toBeCloseTo(0.1, 2)
    expect(counts[1]).toBe(0)
    expect(counts[2]! / 100_000).toBeCloseTo(0.3, 2)
    expect(counts[3]! / 100_000).toBeCloseTo(0.6, 2)
  })

  it('returns -1 when empty', () => {
    expect(new AliasTable([]).draw(Math.random)).toBe(-1)
  })
})
