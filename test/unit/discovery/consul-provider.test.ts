import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ConsulProviderOptions } from '../../../src/discovery/consul-provider.js'
import { listConsulEndpoints } from '../../../src/discovery/consul-provider.js'
import type { ServiceQuery } from '../../../src/discovery/types.js'
import { ConsulDouble } from '../../support/consul-double.js'
import { ids, startProvider, type ProviderHarness } from '../../support/consul-double-harness.js'

let double: ConsulDouble
let harness: ProviderHarness | undefined

beforeEach(async () => {
  double = await ConsulDouble.start({ jitter: () => 0 })
})

afterEach(async () => {
  await harness?.provider.close()
  harness = undefined
  await double.stop()
})

function watch(queries: ServiceQuery[], options: ConsulProviderOptions = {}): ProviderHarness {
  harness = startProvider(double, options)
  harness.provider.setWatched(queries)
  return harness
}

function passing(id: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Name: 'web', ID: id, Port: port, Check: { CheckID: `check-${id}`, TTL: '30s', Status: 'passing' }, ...extra }
}

describe('ConsulProvider endpoints', () => {
  it('emits an empty set first, then a new instance', async () => {
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(h.latest('web')).toEqual([]))
    double.register(passing('web-1', 8080))
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    expect(h.latest('web')?.[0]).toMatchObject({ host: '127.0.0.1', port: 8080, weight: 1, health: 'passing', source: 'consul' })
  })

  it('drops an instance whose check turns critical', async () => {
    double.register(passing('web-1', 8080))
    double.register(passing('web-2', 8081))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(2))
    double.setCheckStatus('check-web-1', 'critical')
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-2']))
  })

  it('sends passing, stale and wait by default and drops warning instances', async () => {
    double.register(passing('web-1', 8080))
    double.register(passing('web-2', 8081))
    double.setCheckStatus('check-web-2', 'warning')
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    const query = double.requests.find((r) => r.route === 'health.service')!.query
    expect(query.get('passing')).toBe('true')
    expect(query.has('stale')).toBe(true)
    expect(query.get('wait')).toBe('1000ms')
  })

  it('routes to warning instances with their warning weight when asked', async () => {
    double.register(passing('web-1', 8080, { Weights: { Passing: 10, Warning: 3 } }))
    double.register(passing('web-2', 8081, { Weights: { Passing: 10, Warning: 3 } }))
    double.register(passing('web-3', 8082))
    double.setCheckStatus('check-web-2', 'warning')
    double.setCheckStatus('check-web-3', 'critical')
    const h = watch([{ key: 'web', name: 'web' }], { healthStates: ['passing', 'warning'] })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1', 'node-1/web-2']))
    expect(h.latest('web')?.map((e) => [e.health, e.weight])).toEqual([
      ['passing', 10],
      ['warning', 3],
    ])
    expect(double.requests.some((r) => r.query.has('passing'))).toBe(false)
  })

  it('falls back to the node address when the service has none', async () => {
    double.addNode('node-2', '10.0.0.2')
    double.register(passing('web-1', 8080), { node: 'node-2' })
    double.register(passing('web-2', 8081, { Address: '10.0.0.9' }), { node: 'node-2' })
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(h.latest('web')).toHaveLength(2))
    expect(h.latest('web')?.map((e) => `${e.id}=${e.host}:${e.port}`)).toEqual([
      'node-2/web-1=10.0.0.2:8080',
      'node-2/web-2=10.0.0.9:8081',
    ])
  })

  it('keys instances by node and service id', async () => {
    double.addNode('node-2', '10.0.0.2')
    double.register(passing('web', 80))
    double.register(passing('web', 80), { node: 'node-2' })
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web', 'node-2/web']))
  })

  it('takes the passing weight', async () => {
    double.register(passing('web-1', 8080, { Weights: { Passing: 7, Warning: 1 } }))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(h.latest('web')?.[0]?.weight).toBe(7))
  })

  it('sends tags and keeps only tagged instances', async () => {
    double.register(passing('web-1', 8080, { Tags: ['v2', 'prod'] }))
    double.register(passing('web-2', 8081, { Tags: ['v1', 'prod'] }))
    const h = watch([{ key: 'web-v2', name: 'web', tags: ['v2', 'prod'] }])
    await vi.waitFor(() => expect(ids(h, 'web-v2')).toEqual(['node-1/web-1']))
    expect(double.requests.find((r) => r.route === 'health.service')?.query.getAll('tag')).toEqual(['v2', 'prod'])
    expect(h.latest('web-v2')?.[0]?.tags).toEqual(['v2', 'prod'])
  })

  it('filters by port when the query names one', async () => {
    double.register(passing('web-1', 8080))
    double.register(passing('web-2', 9090))
    const h = watch([
      { key: 'web-http', name: 'web', port: 8080 },
      { key: 'web-all', name: 'web' },
    ])
    await vi.waitFor(() => expect(ids(h, 'web-http')).toEqual(['node-1/web-1']))
    await vi.waitFor(() => expect(ids(h, 'web-all')).toHaveLength(2))
    expect(h.provider.loopCount).toBe(1)
  })

  it('reads another datacenter', async () => {
    await double.stop()
    double = await ConsulDouble.start({ jitter: () => 0, otherDatacenters: ['dc2'] })
    double.addNode('far', '10.2.0.1', { dc: 'dc2' })
    double.register(passing('web-1', 8080), { node: 'far', dc: 'dc2' })
    const h = watch([{ key: 'web', name: 'web', datacenter: 'dc2' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['far/web-1']))
    expect(double.requests.find((r) => r.route === 'health.service')?.query.get('dc')).toBe('dc2')
  })

  it('sends the token', async () => {
    double.setAcl({ enabled: true, defaultPolicy: 'deny', tokens: { secret: { management: true } } })
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }], { token: 'secret' })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    expect(double.requests.every((r) => r.headers['x-consul-token'] === 'secret')).toBe(true)
  })

  it('reads address and token from the environment', async () => {
    double.setAcl({ enabled: true, defaultPolicy: 'deny', tokens: { fromenv: { management: true } } })
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }], {
      address: undefined,
      env: { CONSUL_HTTP_ADDR: `http://${double.address}`, CONSUL_HTTP_TOKEN: 'fromenv' },
    })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
  })

  it('empties the set when the service is deregistered', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    double.deregister('web-1')
    await vi.waitFor(() => expect(h.latest('web')).toEqual([]))
    expect(h.logs.some((l) => l.level === 40 && l.service === 'web')).toBe(true)
    double.register(passing('web-1', 8080))
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
  })

  it('warns once per transition to no healthy instance', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(1))
    double.setCheckStatus('check-web-1', 'critical')
    await vi.waitFor(() => expect(h.latest('web')).toEqual([]))
    for (let i = 0; i < 3; i++) {
      const before = double.requestCount('health.service')
      double.touchService('web')
      await vi.waitFor(() => expect(double.requestCount('health.service')).toBeGreaterThan(before))
    }
    const warnings = h.logs.filter((l) => l.level === 40 && /no healthy instance/.test(l.msg))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.service).toBe('web')
  })

  it('stops watching services that are no longer queried', async () => {
    const h = watch([{ key: 'a', name: 'a' }, { key: 'b', name: 'b' }])
    await vi.waitFor(() => expect(h.latest('b')).toEqual([]))
    h.provider.setWatched([{ key: 'a', name: 'a' }])
    expect(h.provider.status().watched).toBe(1)
    expect(h.provider.loopCount).toBe(1)
    await vi.waitFor(() => expect(double.waiting('health.service')).toBe(1))
  })

  it('lists current endpoints per query', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }, { key: 'api', name: 'api' }])
    await vi.waitFor(() => expect(h.latest('api')).toEqual([]))
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(1))
    const listed = listConsulEndpoints(h.provider)
    expect(listed.map((l) => [l.key, l.service, l.endpoints.length])).toEqual([
      ['api', 'api', 0],
      ['web', 'web', 1],
    ])
  })

  it('reports status with the last success', async () => {
    const h = watch([{ key: 'web', name: 'web' }])
    expect(h.provider.status()).toMatchObject({ source: 'consul', reachable: false, watched: 1 })
    await vi.waitFor(() => expect(h.provider.status().reachable).toBe(true))
    expect(h.provider.status().lastSuccessAt).toBeTypeOf('number')
  })
})
