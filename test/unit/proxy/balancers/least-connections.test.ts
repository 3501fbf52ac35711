import { describe, expect, it } from 'vitest'
import { LeastConnectionsBalancer } from '../../../../src/proxy/balancers/least-connections.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1, inflight = 0): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight, available: true }
}

describe('LeastConnectionsBalancer', () => {
  it('picks the endpoint with fewest in flight', () => {
    const balancer = new LeastConnectionsBalancer()
    balancer.update([makeEndpoint('a', 1, 4), makeEndpoint('b', 1, 1), makeEndpoint('c', 1, 3)])
    for (let i = 0; i < 5; i++) expect(balancer.pick({ clientIp: '' })?.id).toBe('b')
  })

  it('divides in-flight count by weight', () => {
    const balancer = new LeastConnectionsBalancer()
    // a: 6 / 3 = 2, b: 3 / 1 = 3.
    balancer.update([makeEndpoint('a', 3, 6), makeEndpoint('b', 1, 3)])
    expect(balancer.pick({ clientIp: '' })?.id).toBe('a')
  })

  it('rotates among tied endpoints', () => {
    const balancer = new LeastConnectionsBalancer()
    balancer.update([makeEndpoint('a'), makeEndpoint('b'), makeEndpoint('c')])
    const ids = [1, 2, 3, 4, 5, 6].map(() => balancer.pick({ clientIp: '' })?.id).join('')
    expect(ids).toBe('abcabc')
  })

  it('spreads held requests evenly by weight', () => {
    const endpoints = [makeEndpoint('a', 2), makeEndpoint('b', 1), makeEndpoint('c', 1)]
    const balancer = new LeastConnectionsBalancer()
    balancer.update(endpoints)
    for (let i = 0; i < 400; i++) balancer.pick({ clientIp: '' })!.inflight++
    expect(endpoints.map((endpoint) => endpoint.inflight)).toEqual([200, 100, 100])
  })
})
