import { describe, expect, it } from 'vitest'
import { RoundRobinBalancer } from '../../../../src/proxy/balancers/round-robin.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight: 0, available: true }
}

describe('RoundRobinBalancer', () => {
  it('cycles in order from the random start', () => {
    const balancer = new RoundRobinBalancer(() => 0.5)
    balancer.update([makeEndpoint('a'), makeEndpoint('b', 5), makeEndpoint('c'), makeEndpoint('d')])
    const ids = [1, 2, 3, 4, 5].map(() => balancer.pick({ clientIp: '' })?.id).join('')
    expect(ids).toBe('cdabc')
  })

  it('skips drained endpoints', () => {
    const balancer = new RoundRobinBalancer(() => 0)
    balancer.update([makeEndpoint('a'), makeEndpoint('b', 0), makeEndpoint('c')])
    const ids = [1, 2, 3, 4].map(() => balancer.pick({ clientIp: '' })?.id).join('')
    expect(ids).toBe('acac')
  })
})
