import { describe, expect, it } from 'vitest'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'
import {
  MAX_SCHEDULE_LENGTH,
  WeightedRoundRobinBalancer,
  buildSmoothSchedule,
  quantizeWeights,
} from '../../../../src/proxy/balancers/weighted-round-robin.js'

function makeEndpoint(id: string, weight: number): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight: 0, available: true }
}

function pickIds(balancer: WeightedRoundRobinBalancer, count: number): string {
  let ids = ''
  for (let i = 0; i < count; i++) ids += balancer.pick({ clientIp: '' })?.id ?? '-'
  return ids
}

describe('WeightedRoundRobinBalancer', () => {
  it('interleaves weights 5, 1, 1 smoothly', () => {
    const balancer = new WeightedRoundRobinBalancer()
    balancer.update([makeEndpoint('a', 5), makeEndpoint('b', 1), makeEndpoint('c', 1)])
    expect(pickIds(balancer, 14)).toBe('aabacaa' + 'aabacaa')
  })

  it('reduces weights by their common divisor', () => {
    const balancer = new WeightedRoundRobinBalancer()
    balancer.update([makeEndpoint('a', 50), makeEndpoint('b', 10), makeEndpoint('c', 10)])
    expect(pickIds(balancer, 7)).toBe('aabacaa')
  })

  it('spends the turn of an excluded endpoint', () => {
    const endpoints = [makeEndpoint('a', 5), makeEndpoint('b', 1), makeEndpoint('c', 1)]
    const balancer = new WeightedRoundRobinBalancer()
    balancer.update(endpoints)
    const exclude = new Set([endpoints[0]!])
    expect(balancer.pick({ clientIp: '', exclude })?.id).toBe('b')
    expect(pickIds(balancer, 4)).toBe('acaa')
  })

  it('keeps slow-start fractions in proportion', () => {
    const balancer = new WeightedRoundRobinBalancer()
    balancer.update([makeEndpoint('a', 1), makeEndpoint('b', 0.25)])
    const picks = pickIds(balancer, 5000)
    const shareOfB = picks.split('').filter((id) => id === 'b').length / picks.length
    expect(shareOfB).toBeCloseTo(0.2, 2)
  })
})

describe('quantizeWeights', () => {
  it('keeps integer weights exact', () => {
    expect([...quantizeWeights([3, 6, 9], 100)]).toEqual([1, 2, 3])
  })

  it('scales totals above the limit', () => {
    const weights = quantizeWeights([1000, 3000, 1], 400)
    expect(weights[0]! + weights[1]! + weights[2]!).toBeLessThanOrEqual(401)
    expect(weights[1]! / weights[0]!).toBeCloseTo(3, 1)
    expect(weights[2]).toBe(1)
  })

  it('bounds the schedule length', () => {
    const weights = quantizeWeights([0.1, 1, 1.7], MAX_SCHEDULE_LENGTH)
    expect(buildSmoothSchedule(weights).length).toBeLessThanOrEqual(MAX_SCHEDULE_LENGTH + 3)
  })
})
