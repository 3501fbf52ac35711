import { describe, expect, it } from 'vitest'
import { ConsistentHashBalancer } from '../../../../src/proxy/balancers/consistent-hash.js'
import { hashString } from '../../../../src/proxy/balancers/hash.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight: 0, available: true }
}

function makeEndpoints(count: number): Endpoint[] {
  return Array.from({ length: count }, (_, i) => makeEndpoint(`10.1.0.${i}:8080`))
}

function mapKeys(balancer: ConsistentHashBalancer, keys: number): string[] {
  return Array.from({ length: keys }, (_, i) => balancer.pickForHash(hashString(`user-${i}`))!.id)
}

describe('ConsistentHashBalancer', () => {
  it('moves about 1/N of keys when one endpoint leaves', () => {
    const endpoints = makeEndpoints(10)
    const balancer = new ConsistentHashBalancer()
    balancer.update(endpoints)
    const before = mapKeys(balancer, 10_000)

    const leaving = endpoints[3]!.id
    balancer.update(endpoints.filter((endpoint) => endpoint.id !== leaving))
    const after = mapKeys(balancer, 10_000)

    let moved = 0
    let movedBetweenSurvivors = 0
    before.forEach((id, key) => {
      if (after[key] === id) return
      moved++
      if (id !== leaving) movedBetweenSurvivors++
    })
    expect(moved / 10_000).toBeGreaterThanOrEqual(0.05)
    expect(moved / 10_000).toBeLessThanOrEqual(0.15)
    expect(movedBetweenSurvivors).toBe(0)
  })

  it('moves keys only to an endpoint that joins', () => {
    const endpoints = makeEndpoints(10)
    const balancer = new ConsistentHashBalancer()
    balancer.update(endpoints.slice(0, 9))
    const before = mapKeys(balancer, 10_000)
    balancer.update(endpoints)
    const after = mapKeys(balancer, 10_000)

    const joined = endpoints[9]!.id
    const movedElsewhere = before.filter((id, key) => after[key] !== id && after[key] !== joined)
    expect(movedElsewhere).toHaveLength(0)
  })

  it('maps the same client IP to the same endpoint', () => {
    const balancer = new ConsistentHashBalancer()
    balancer.update(makeEndpoints(5))
    const first = balancer.pick({ clientIp: '192.0.2.44' })
    for (let i = 0; i < 20; i++) expect(balancer.pick({ clientIp: '192.0.2.44' })).toBe(first)
    expect(balancer.pick({ clientIp: '::ffff:192.0.2.44' })).toBe(first)
  })

  it('hashes on a header case-insensitively', () => {
    const balancer = new ConsistentHashBalancer({ hashOn: { header: 'X-User' } })
    balancer.update(makeEndpoints(5))
    const headers: Record<string, string> = { 'x-user': 'alice' }
    const ctx = (ip: string) => ({ clientIp: ip, header: (name: string) => headers[name] })
    const first = balancer.pick(ctx('192.0.2.1'))
    expect(first?.id).toBe(balancer.pickForHash(hashString('alice'))?.id)
    expect(balancer.pick(ctx('192.0.2.2'))).toBe(first)
  })

  it('hashes on a cookie', () => {
    const balancer = new ConsistentHashBalancer({ hashOn: { cookie: 'sid' } })
    balancer.update(makeEndpoints(5))
    const cookie = (name: string) => (name === 'sid' ? 'abc' : undefined)
    const ctx = { clientIp: '192.0.2.1', cookie }
    expect(balancer.pick(ctx)?.id).toBe(balancer.pickForHash(hashString('abc'))?.id)
  })

  it('falls back to round robin without a key', () => {
    const balancer = new ConsistentHashBalancer({ hashOn: { header: 'x-user' }, random: () => 0 })
    const endpoints = makeEndpoints(3)
    balancer.update(endpoints)
    const ctx = { clientIp: '192.0.2.1', header: () => undefined }
    const ids = [1, 2, 3].map(() => balancer.pick(ctx)?.id)
    expect(ids).toEqual(endpoints.map((endpoint) => endpoint.id))
  })

  it('caps a hot key at the bounded load', () => {
    const endpoints = makeEndpoints(4)
    const balancer = new ConsistentHashBalancer({ boundedLoadFactor: 1.25 })
    balancer.update(endpoints)
    const home = balancer.pick({ clientIp: '198.51.100.7' })!

    for (let i = 0; i < 100; i++) balancer.pick({ clientIp: '198.51.100.7' })!.inflight++

    // ceil(1.25 * 100 / 4) = 32: no endpoint may hold more than that.
    for (const endpoint of endpoints) expect(endpoint.inflight, endpoint.id).toBeLessThanOrEqual(32)
    expect(home.inflight).toBe(32)
  })

  it('keeps a hot key home without the bound', () => {
    const balancer = new ConsistentHashBalancer({ boundedLoadFactor: Infinity })
    balancer.update(makeEndpoints(4))
    const home = balancer.pick({ clientIp: '198.51.100.7' })!
    for (let i = 0; i < 100; i++) balancer.pick({ clientIp: '198.51.100.7' })!.inflight++
    expect(home.inflight).toBe(100)
  })

  it('returns to the home endpoint once load drops', () => {
    const endpoints = makeEndpoints(4)
    const balancer = new ConsistentHashBalancer()
    balancer.update(endpoints)
    const home = balancer.pick({ clientIp: '198.51.100.7' })!
    home.inflight = 10
    expect(balancer.pick({ clientIp: '198.51.100.7' })).not.toBe(home)
    home.inflight = 0
    expect(balancer.pick({ clientIp: '198.51.100.7' })).toBe(home)
  })

  it('walks past an excluded home endpoint', () => {
    const balancer = new ConsistentHashBalancer()
    balancer.update(makeEndpoints(4))
    const home = balancer.pick({ clientIp: '198.51.100.7' })!
    const retry = balancer.pick({ clientIp: '198.51.100.7', exclude: new Set([home]) })
    expect(retry).toBeDefined()
    expect(retry).not.toBe(home)
  })
})
