import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConsulDouble } from '../../support/consul-double.js'
import { callDouble } from '../../support/consul-double-fetch.js'

interface Entry {
  Node: { Node: string; Address: string; TaggedAddresses: Record<string, string>; Datacenter: string }
  Service: {
    ID: string
    Service: string
    Tags: string[]
    Address: string
    Port: number
    Meta: Record<string, string> | null
    Weights: { Passing: number; Warning: number }
    TaggedAddresses: Record<string, { address: string; port: number }>
  }
  Checks: Array<{ CheckID: string; Name: string; Status: string; ServiceID: string; ServiceTags: string[] }>
}

let double: ConsulDouble
let consul: Consul

beforeEach(async () => {
  double = await ConsulDouble.start({ shuffle: false, jitter: () => 0 })
  consul = new Consul({ host: '127.0.0.1', port: double.port })
})

afterEach(async () => {
  consul.destroy()
  await double.stop()
})

async function health(path: string): Promise<Entry[]> {
  const res = await callDouble(double, path)
  expect(res.status).toBe(200)
  return res.json as Entry[]
}

describe('health/service shapes', () => {
  it('returns an empty array for an unknown service', async () => {
    const res = await callDouble(double, '/v1/health/service/nope')
    expect(res.status).toBe(200)
    expect(res.text).toBe('[]')
    expect(res.headers.get('x-consul-index')).toMatch(/^[1-9]\d*$/)
  })

  it('rejects an empty service name', async () => {
    const res = await callDouble(double, '/v1/health/service/')
    expect(res.status).toBe(400)
    expect(res.text).toBe('Missing service name')
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  })

  it('registers through the client with defaults applied', async () => {
    await consul.agent.service.register({ name: 'web', port: 8080 })
    const [entry] = await health('/v1/health/service/web')
    expect(entry?.Service.ID).toBe('web')
    expect(entry?.Service.Tags).toEqual([])
    expect(entry?.Service.Address).toBe('')
    expect(entry?.Service.Meta).toBeNull()
    expect(entry?.Service.Weights).toEqual({ Passing: 1, Warning: 1 })
    expect(entry?.Node.Node).toBe('node-1')
    expect(entry?.Node.Address).toBe('127.0.0.1')
    expect(entry?.Node.TaggedAddresses).toEqual({ lan: '127.0.0.1', wan: '127.0.0.1' })
    expect(entry?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth'])
  })

  it('decodes registration keys case-insensitively', async () => {
    const res = await callDouble(double, '/v1/agent/service/register', {
      method: 'PUT',
      body: { name: 'api', iD: 'api-1', PORT: 9000, tags: ['v2'], weights: { passing: 7, warning: 2 } },
    })
    expect(res.status).toBe(200)
    expect(res.text).toBe('')
    const [entry] = await health('/v1/health/service/api')
    expect(entry?.Service.ID).toBe('api-1')
    expect(entry?.Service.Port).toBe(9000)
    expect(entry?.Service.Tags).toEqual(['v2'])
    expect(entry?.Service.Weights).toEqual({ Passing: 7, Warning: 2 })
  })

  it('emits service and node tagged addresses in their two shapes', async () => {
    await callDouble(double, '/v1/agent/service/register', {
      method: 'PUT',
      body: { Name: 'db', Address: '10.0.0.5', Port: 5432, TaggedAddresses: { lan: { Address: '10.0.0.5', Port: 5432 } } },
    })
    const [entry] = await health('/v1/health/service/db')
    expect(entry?.Service.Address).toBe('10.0.0.5')
    expect(entry?.Service.TaggedAddresses).toEqual({ lan: { address: '10.0.0.5', port: 5432 } })
    expect(typeof entry?.Node.TaggedAddresses.lan).toBe('string')
  })

  it('requires a service name on register', async () => {
    const res = await callDouble(double, '/v1/agent/service/register', { method: 'PUT', body: { Port: 1 } })
    expect(res.status).toBe(400)
    expect(res.text).toBe('Missing service name')
  })
})

describe('instance multiplicity', () => {
  it('keeps two services of one node on different ports', async () => {
    double.register({ Name: 'web', ID: 'web-a', Port: 8080 })
    double.register({ Name: 'metrics', ID: 'metrics-a', Port: 9100 })
    expect((await health('/v1/health/service/web')).map((e) => e.Service.Port)).toEqual([8080])
    expect((await health('/v1/health/service/metrics')).map((e) => e.Service.Port)).toEqual([9100])
  })

  it('keeps two instances of one service on one node', async () => {
    double.register({ Name: 'web', ID: 'web-a', Port: 8080 })
    double.register({ Name: 'web', ID: 'web-b', Port: 8081 })
    const entries = await health('/v1/health/service/web')
    expect(entries.map((e) => `${e.Service.ID}:${e.Service.Port}`).sort()).toEqual(['web-a:8080', 'web-b:8081'])
  })

  it('places services on extra nodes', async () => {
    double.addNode('node-2', '10.0.0.2')
    double.register({ Name: 'web', ID: 'web', Port: 80 }, { node: 'node-2' })
    double.register({ Name: 'web', ID: 'web', Port: 80 })
    const entries = await health('/v1/health/service/web')
    expect(entries.map((e) => e.Node.Node).sort()).toEqual(['node-1', 'node-2'])
  })
})

describe('checks and the passing filter', () => {
  it('starts a check critical unless Status is given', async () => {
    double.register({ Name: 'a', Check: { TTL: '10s' } })
    double.register({ Name: 'b', Check: { TTL: '10s', Status: 'passing' } })
    const [a] = await health('/v1/health/service/a')
    const [b] = await health('/v1/health/service/b')
    expect(a?.Checks.find((c) => c.ServiceID === 'a')?.Status).toBe('critical')
    expect(b?.Checks.find((c) => c.ServiceID === 'b')?.Status).toBe('passing')
  })

  it('generates check IDs and names', async () => {
    double.register({ Name: 'one', Check: { TTL: '10s' } })
    double.register({ Name: 'many', Checks: [{ TTL: '10s' }, { HTTP: 'http://127.0.0.1:1/h', Interval: '10s' }] })
    const [one] = await health('/v1/health/service/one')
    const [many] = await health('/v1/health/service/many')
    expect(one?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:one'])
    expect(one?.Checks[1]?.Name).toBe("Service 'one' check")
    expect(many?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:many:1', 'service:many:2'])
  })

  it('rejects a check with neither TTL nor a probe and interval', async () => {
    const res = await callDouble(double, '/v1/agent/service/register', {
      method: 'PUT',
      body: { Name: 'x', Check: { HTTP: 'http://127.0.0.1:1/' } },
    })
    expect(res.status).toBe(400)
  })

  it.each([
    ['passing=true', 1],
    ['passing', 1],
    ['passing=1', 1],
    ['passing=T', 1],
    ['passing=False', 3],
    ['passing=0', 3],
    ['', 3],
  ])('filters with %s', async (query, expected) => {
    double.register({ Name: 'web', ID: 'ok', Port: 1, Check: { TTL: '10s', Status: 'passing' } })
    double.register({ Name: 'web', ID: 'warn', Port: 2, Check: { TTL: '10s', Status: 'warning' } })
    double.register({ Name: 'web', ID: 'bad', Port: 3, Check: { TTL: '10s' } })
    expect(await health(`/v1/health/service/web?${query}`)).toHaveLength(expected)
  })

  it('rejects an invalid passing value', async () => {
    const res = await callDouble(double, '/v1/health/service/web?passing=yes')
    expect(res.status).toBe(400)
    expect(res.text).toBe('Invalid value for ?passing')
  })

  it('drops instances whose node check is critical', async () => {
    double.addNode('node-2', '10.0.0.2')
    double.register({ Name: 'web', ID: 'w1', Port: 1 })
    double.register({ Name: 'web', ID: 'w2', Port: 1 }, { node: 'node-2' })
    double.setNodeHealth('node-2', 'critical')
    const entries = await health('/v1/health/service/web?passing')
    expect(entries.map((e) => e.Node.Node)).toEqual(['node-1'])
  })

  it('drops instances in maintenance mode', async () => {
    await consul.agent.service.register({ name: 'web', id: 'w1', port: 1 })
    await consul.agent.service.maintenance({ id: 'w1', enable: true, reason: 'deploy' })
    expect(await health('/v1/health/service/web?passing')).toEqual([])
    const [entry] = await health('/v1/health/service/web')
    expect(entry?.Checks.map((c) => c.CheckID)).toContain('_service_maintenance:w1')
    await consul.agent.service.maintenance({ id: 'w1', enable: false })
    expect(await health('/v1/health/service/web?passing')).toHaveLength(1)
  })

  it('reads through the client with passing', async () => {
    double.register({ Name: 'web', ID: 'ok', Port: 1, Check: { TTL: '10s', Status: 'passing' } })
    double.register({ Name: 'web', ID: 'bad', Port: 2, Check: { TTL: '10s' } })
    const entries = (await consul.health.service({ service: 'web', passing: true })) as Entry[]
    expect(entries.map((e) => e.Service.ID)).toEqual(['ok'])
  })

  it('shuffles results when shuffling is on', async () => {
    const shuffling = await ConsulDouble.start({ shuffle: () => 0 })
    try {
      for (const id of ['a', 'b', 'c']) shuffling.register({ Name: 'web', ID: id, Port: 1 })
      const res = await fetch(`http://${shuffling.address}/v1/health/service/web`)
      const ids = ((await res.json()) as Entry[]).map((e) => e.Service.ID)
      expect(ids).not.toEqual(['a', 'b', 'c'])
      expect([...ids].sort()).toEqual(['a', 'b', 'c'])
    } finally {
      await shuffling.stop()
    }
  })
})

describe('tag, dc and filter parameters', () => {
  beforeEach(() => {
    double.register({ Name: 'web', ID: 'w1', Port: 1, Tags: ['prod', 'v2'] })
    double.register({ Name: 'web', ID: 'w2', Port: 2, Tags: ['prod'] })
    double.register({ Name: 'web', ID: 'w3', Port: 3, Tags: ['v2'], Meta: { zone: 'b' } })
  })

  it('requires every repeated tag', async () => {
    const ids = (await health('/v1/health/service/web?tag=prod&tag=v2')).map((e) => e.Service.ID)
    expect(ids).toEqual(['w1'])
  })

  it('sends repeated tags through the client', async () => {
    const entries = (await consul.health.service({ service: 'web', tag: ['prod', 'v2'] as never })) as Entry[]
    expect(entries.map((e) => e.Service.ID)).toEqual(['w1'])
  })

  it('answers an unknown datacenter with 500', async () => {
    const res = await callDouble(double, '/v1/health/service/web?dc=mars')
    expect(res.status).toBe(500)
    expect(res.text).toBe('No path to datacenter')
  })

  it('reads another known datacenter', async () => {
    const multi = await ConsulDouble.start({ otherDatacenters: ['dc2'] })
    try {
      multi.addNode('far', '10.9.0.1', { dc: 'dc2' })
      multi.register({ Name: 'web', Port: 80 }, { node: 'far', dc: 'dc2' })
      const remote = (await (await fetch(`http://${multi.address}/v1/health/service/web?dc=dc2`)).json()) as Entry[]
      const local = (await (await fetch(`http://${multi.address}/v1/health/service/web`)).json()) as Entry[]
      expect(remote.map((e) => e.Node.Datacenter)).toEqual(['dc2'])
      expect(local).toEqual([])
    } finally {
      await multi.stop()
    }
  })

  it('applies a supported filter expression', async () => {
    const q = encodeURIComponent('Service.Meta.zone == "b" and "v2" in Service.Tags')
    expect((await health(`/v1/health/service/web?filter=${q}`)).map((e) => e.Service.ID)).toEqual(['w3'])
  })

  it('rejects a filter it cannot evaluate', async () => {
    const q = encodeURIComponent('Service.Port > 2 or Service.ID matches "w"')
    const res = await callDouble(double, `/v1/health/service/web?filter=${q}`)
    expect(res.status).toBe(400)
  })
})

describe('catalog endpoints', () => {
  it('lists services with the union of their tags', async () => {
    double.register({ Name: 'web', ID: 'w1', Tags: ['a'] })
    double.register({ Name: 'web', ID: 'w2', Tags: ['b', 'a'] })
    expect(await consul.catalog.service.list()).toEqual({ web: ['a', 'b'] })
  })

  it('returns the flat catalog shape with unhealthy instances', async () => {
    double.register({ Name: 'web', ID: 'w1', Port: 8080, Check: { TTL: '10s' } })
    const list = (await consul.catalog.service.nodes('web')) as Array<Record<string, unknown>>
    expect(list).toHaveLength(1)
    expect(list[0]?.ServiceID).toBe('w1')
    expect(list[0]?.ServicePort).toBe(8080)
    expect(list[0]?.ServiceAddress).toBe('')
    expect(list[0]?.Address).toBe('127.0.0.1')
    expect(list[0]?.ServiceWeights).toEqual({ Passing: 1, Warning: 1 })
  })
})
