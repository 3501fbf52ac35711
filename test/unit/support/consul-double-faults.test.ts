import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConsulDouble } from '../../support/consul-double.js'
import { callDouble } from '../../support/consul-double-fetch.js'

let double: ConsulDouble
let consul: Consul

beforeEach(async () => {
  double = await ConsulDouble.start({ jitter: () => 0 })
  consul = new Consul({ host: '127.0.0.1', port: double.port })
})

afterEach(async () => {
  consul.destroy()
  await double.stop()
})

describe('fault injection', () => {
  it('answers the next N requests with a status and body', async () => {
    double.inject('health.service', { status: 503, body: 'rpc error: no servers', times: 2 })
    expect((await callDouble(double, '/v1/health/service/web')).text).toBe('rpc error: no servers')
    expect((await callDouble(double, '/v1/health/service/web')).status).toBe(503)
    expect((await callDouble(double, '/v1/health/service/web')).status).toBe(200)
  })

  it('leaves other routes alone', async () => {
    double.inject('health.service', { status: 500, body: 'boom' })
    expect((await callDouble(double, '/v1/catalog/services')).status).toBe(200)
  })

  it('surfaces an injected error through the client', async () => {
    double.inject('*', { status: 403, body: 'Permission denied' })
    const err = (await consul.health.service('web').catch((e: unknown) => e)) as Error & { statusCode?: number }
    expect(err.statusCode).toBe(403)
    expect(err.message).toContain('Permission denied')
  })

  it('delays a response', async () => {
    double.inject('health.service', { delayMs: 30 })
    const started = Date.now()
    const res = await callDouble(double, '/v1/health/service/web')
    expect(res.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('holds a response open until the client gives up', async () => {
    double.inject('health.service', { hang: true })
    const err = await fetch(`http://${double.address}/v1/health/service/web`, {
      signal: AbortSignal.timeout(50),
    }).catch((e: unknown) => e)
    expect((err as Error).name).toBe('TimeoutError')
  })

  it('resets the socket mid-response', async () => {
    double.inject('health.service', { reset: true, times: 2 })
    await expect(callDouble(double, '/v1/health/service/web')).rejects.toThrow()
    // The client only notices a reset body through its timeout, so callers must always set one.
    // The client's types omit the per-call `timeout` its runtime supports.
    const err = await consul.health.service({ service: 'web', timeout: 200 } as never).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((await callDouble(double, '/v1/health/service/web')).status).toBe(200)
  })

  it('refuses connections while the listener is closed', async () => {
    await double.closeListener()
    await expect(fetch(`http://${double.address}/v1/health/service/web`)).rejects.toThrow()
    await double.restart()
    expect((await callDouble(double, '/v1/health/service/web')).status).toBe(200)
  })
})

describe('request counting', () => {
  it('counts requests per route', async () => {
    await callDouble(double, '/v1/health/service/a')
    await callDouble(double, '/v1/health/service/b')
    await callDouble(double, '/v1/kv/x')
    expect(double.requestCount('health.service')).toBe(2)
    expect(double.requestCount('kv.get')).toBe(1)
    expect(double.requestCount()).toBe(3)
    expect(double.requests.map((r) => r.path)).toEqual(['/v1/health/service/a', '/v1/health/service/b', '/v1/kv/x'])
  })

  it('counts faulted requests too', async () => {
    double.inject('health.service', { status: 500, body: 'x' })
    await callDouble(double, '/v1/health/service/a')
    expect(double.requestCount('health.service')).toBe(1)
  })
})

describe('ACL', () => {
  beforeEach(() => {
    double.setAcl({
      enabled: true,
      defaultPolicy: 'deny',
      tokens: {
        reader: { rules: [{ resource: 'service', prefix: 'web', policy: 'read' }, { resource: 'node', prefix: '', policy: 'read' }] },
        admin: { management: true },
      },
    })
    double.register({ Name: 'web', Port: 1 })
    double.register({ Name: 'secret', Port: 2 })
  })

  it('rejects an unknown token with ACL not found', async () => {
    const res = await callDouble(double, '/v1/health/service/web', { headers: { 'X-Consul-Token': 'nope' } })
    expect(res.status).toBe(403)
    expect(res.text).toBe('ACL not found')
  })

  it('reads the token from X-Consul-Token and Authorization Bearer', async () => {
    const viaHeader = await callDouble(double, '/v1/health/service/web', { headers: { 'X-Consul-Token': 'reader' } })
    const viaBearer = await callDouble(double, '/v1/health/service/web', { headers: { Authorization: 'Bearer reader' } })
    expect(viaHeader.json).toHaveLength(1)
    expect(viaBearer.json).toHaveLength(1)
  })

  it('sends the token through the client defaults', async () => {
    const client = new Consul({ host: '127.0.0.1', port: double.port, defaults: { token: 'reader' } })
    try {
      expect(await client.health.service('web')).toHaveLength(1)
      expect(double.requests.at(-1)?.headers['x-consul-token']).toBe('reader')
    } finally {
      client.destroy()
    }
  })

  it('filters services the token may not read', async () => {
    const res = await callDouble(double, '/v1/health/service/secret', { headers: { 'X-Consul-Token': 'reader' } })
    expect(res.json).toEqual([])
    expect(res.headers.get('x-consul-results-filtered-by-acls')).toBe('true')
    expect(res.headers.get('x-consul-default-acl-policy')).toBe('deny')
  })

  it('denies writes without rights', async () => {
    const res = await callDouble(double, '/v1/kv/x', { method: 'PUT', body: 'v', headers: { 'X-Consul-Token': 'reader' } })
    expect(res.status).toBe(403)
    expect(res.text).toBe('Permission denied')
    const admin = await callDouble(double, '/v1/kv/x', { method: 'PUT', body: 'v', headers: { 'X-Consul-Token': 'admin' } })
    expect(admin.json).toBe(true)
  })

  it('rejects a revoked token', async () => {
    double.setToken('reader', undefined)
    const res = await callDouble(double, '/v1/health/service/web', { headers: { 'X-Consul-Token': 'reader' } })
    expect(res.status).toBe(403)
  })
})

describe('namespaces', () => {
  it.each([
    ['?ns=default', {}],
    ['', { 'X-Consul-Namespace': 'team-a' }],
  ])('rejects %s %j outside enterprise mode', async (query, headers) => {
    const res = await callDouble(double, `/v1/health/service/web${query}`, { headers })
    expect(res.status).toBe(400)
    expect(res.text).toBe('Namespaces are a Consul Enterprise feature')
  })

  it('accepts a namespace in enterprise mode', async () => {
    const enterprise = await ConsulDouble.start({ enterprise: true })
    try {
      const res = await fetch(`http://${enterprise.address}/v1/health/service/web?ns=default`)
      expect(res.status).toBe(200)
    } finally {
      await enterprise.stop()
    }
  })
})

describe('route errors', () => {
  it('answers an unknown path with 404 and a wrong method with 405', async () => {
    expect((await callDouble(double, '/v1/nothing')).status).toBe(404)
    expect((await callDouble(double, '/v1/agent/service/register')).status).toBe(405)
  })

  it('drops blocked readers on stop', async () => {
    const pending = callDouble(double, `/v1/health/service/web?index=${double.index}&wait=10m`).catch((e: unknown) => e)
    await vi.waitFor(() => expect(double.waiting()).toBe(1))
    await double.restart()
    expect(await pending).toBeInstanceOf(Error)
    expect(double.waiting()).toBe(0)
  })
})
