import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConsulDouble, ManualClock } from '../../support/consul-double.js'
import { callDouble } from '../../support/consul-double-fetch.js'

let clock: ManualClock
let double: ConsulDouble
let consul: Consul

beforeEach(async () => {
  clock = new ManualClock()
  double = await ConsulDouble.start({ clock, shuffle: false, jitter: () => 0 })
  consul = new Consul({ host: '127.0.0.1', port: double.port })
})

afterEach(async () => {
  consul.destroy()
  await double.stop()
})

async function checkStatus(service: string, checkId: string): Promise<string | undefined> {
  const res = await callDouble(double, `/v1/health/service/${service}`)
  const entries = res.json as Array<{ Checks: Array<{ CheckID: string; Status: string; Output: string }> }>
  return entries[0]?.Checks.find((c) => c.CheckID === checkId)?.Status
}

/**
 * The consul client's type declarations demand fields (a check name and timeout, no `id` on a
 * check) that Consul's API does not, so valid registrations are cast.
 */
type AnyRegistration = never

describe('TTL checks', () => {
  beforeEach(async () => {
    await consul.agent.service.register({ name: 'web', id: 'web-1', port: 80, check: { ttl: '10s' } } as AnyRegistration)
  })

  it('moves through pass, warn and fail', async () => {
    await consul.agent.check.pass('service:web-1')
    expect(await checkStatus('web', 'service:web-1')).toBe('passing')
    await consul.agent.check.warn('service:web-1')
    expect(await checkStatus('web', 'service:web-1')).toBe('warning')
    await consul.agent.check.fail('service:web-1')
    expect(await checkStatus('web', 'service:web-1')).toBe('critical')
  })

  it('stores the note as output', async () => {
    await consul.agent.check.pass({ id: 'service:web-1', note: 'all good' })
    const res = await callDouble(double, '/v1/health/service/web')
    const checks = (res.json as Array<{ Checks: Array<{ CheckID: string; Output: string }> }>)[0]?.Checks
    expect(checks?.find((c) => c.CheckID === 'service:web-1')?.Output).toBe('all good')
  })

  it('goes critical when the TTL runs out on the clock', async () => {
    await consul.agent.check.pass('service:web-1')
    clock.advance(9_999)
    expect(await checkStatus('web', 'service:web-1')).toBe('passing')
    clock.advance(2)
    expect(await checkStatus('web', 'service:web-1')).toBe('critical')
  })

  it('restarts the TTL on every update', async () => {
    await consul.agent.check.pass('service:web-1')
    clock.advance(8_000)
    await consul.agent.check.pass('service:web-1')
    clock.advance(8_000)
    expect(await checkStatus('web', 'service:web-1')).toBe('passing')
  })

  it('updates status and output with a PUT body', async () => {
    const res = await callDouble(double, '/v1/agent/check/update/service:web-1', {
      method: 'PUT',
      body: { Status: 'warning', Output: 'slow' },
    })
    expect(res.status).toBe(200)
    expect(await checkStatus('web', 'service:web-1')).toBe('warning')
  })

  it('rejects an invalid status on update', async () => {
    const res = await callDouble(double, '/v1/agent/check/update/service:web-1', {
      method: 'PUT',
      body: { Status: 'sleepy' },
    })
    expect(res.status).toBe(400)
  })

  it.each(['pass', 'warn', 'fail', 'update'])('accepts only PUT on %s', async (verb) => {
    const res = await callDouble(double, `/v1/agent/check/${verb}/service:web-1`, { method: 'GET' })
    expect(res.status).toBe(405)
  })

  it('answers an unknown check with 404', async () => {
    await expect(consul.agent.check.pass('nope')).rejects.toMatchObject({ statusCode: 404 })
  })
})

describe('service and check registration', () => {
  it('treats deregistering an unknown service as a no-op', async () => {
    await expect(consul.agent.service.deregister('missing')).resolves.toBeUndefined()
  })

  it('removes a service with its checks', async () => {
    await consul.agent.service.register({ name: 'web', id: 'web-1', port: 80, check: { ttl: '10s' } } as AnyRegistration)
    await consul.agent.service.deregister('web-1')
    expect((await callDouble(double, '/v1/health/service/web')).json).toEqual([])
    expect(Object.keys((await callDouble(double, '/v1/agent/checks')).json as object)).toEqual(['serfHealth'])
  })

  it('registers a standalone check on a service', async () => {
    await consul.agent.service.register({ name: 'web', id: 'web-1', port: 80 })
    await consul.agent.check.register({ name: 'extra', id: 'extra', serviceid: 'web-1', ttl: '5s', status: 'warning' } as AnyRegistration)
    expect(await checkStatus('web', 'extra')).toBe('warning')
    await consul.agent.check.deregister('extra')
    expect(await checkStatus('web', 'extra')).toBeUndefined()
  })

  it('requires a check name', async () => {
    const res = await callDouble(double, '/v1/agent/check/register', { method: 'PUT', body: { TTL: '5s' } })
    expect(res.status).toBe(400)
    expect(res.text).toBe('Missing check name')
  })

  it('keeps checks on re-registration unless told to replace them', async () => {
    double.register({ Name: 'web', ID: 'w', Checks: [{ TTL: '5s' }, { TTL: '5s' }] })
    const body = { Name: 'web', ID: 'w', Check: { CheckID: 'service:w:1', TTL: '5s' } }
    await callDouble(double, '/v1/agent/service/register', { method: 'PUT', body })
    expect(await checkStatus('web', 'service:w:2')).toBe('critical')
    await callDouble(double, '/v1/agent/service/register?replace-existing-checks', { method: 'PUT', body })
    expect(await checkStatus('web', 'service:w:2')).toBeUndefined()
  })

  it('round-trips weights and lists agent services', async () => {
    await callDouble(double, '/v1/agent/service/register', {
      method: 'PUT',
      body: { Name: 'web', Weights: { Passing: 5, Warning: 0 } },
    })
    const services = (await consul.agent.service.list()) as Record<string, { Weights: unknown }>
    expect(services.web?.Weights).toEqual({ Passing: 5, Warning: 0 })
  })

  it('rejects a zero passing weight', async () => {
    const res = await callDouble(double, '/v1/agent/service/register', {
      method: 'PUT',
      body: { Name: 'web', Weights: { Passing: 0, Warning: 1 } },
    })
    expect(res.status).toBe(400)
  })
})

describe('critical service reaper', () => {
  it('removes a service critical past DeregisterCriticalServiceAfter', async () => {
    double.register({ Name: 'web', ID: 'w', Check: { TTL: '10s', DeregisterCriticalServiceAfter: '1m' } })
    clock.advance(60_000)
    expect((await callDouble(double, '/v1/health/service/web')).json).toHaveLength(1)
    clock.advance(30_000)
    expect((await callDouble(double, '/v1/health/service/web')).json).toEqual([])
  })

  it('raises a threshold below one minute to one minute', async () => {
    double.register({ Name: 'web', ID: 'w', Check: { TTL: '10s', DeregisterCriticalServiceAfter: '1s' } })
    clock.advance(30_000)
    expect((await callDouble(double, '/v1/health/service/web')).json).toHaveLength(1)
  })
})

describe('HTTP and TCP checks', () => {
  let backend: Server
  let status = 200

  beforeEach(async () => {
    backend = createServer((_req, res) => {
      res.statusCode = status
      res.end()
    })
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  })

  afterEach(async () => {
    await new Promise((resolve) => backend.close(resolve))
  })

  it('lets a test set the status of an HTTP check', async () => {
    double.register({ Name: 'web', ID: 'w', Check: { HTTP: 'http://10.0.0.5/health', Interval: '10s' } })
    double.setCheckStatus('service:w', 'passing')
    expect(await checkStatus('web', 'service:w')).toBe('passing')
  })

  it.each([
    [200, 'passing'],
    [429, 'warning'],
    [503, 'critical'],
  ])('maps a probed HTTP %i to %s', async (code, expected) => {
    status = code
    const port = (backend.address() as AddressInfo).port
    double.register({ Name: 'web', ID: 'w', Check: { HTTP: `http://127.0.0.1:${port}/h`, Interval: '10s' } })
    await double.runChecks()
    expect(await checkStatus('web', 'service:w')).toBe(expected)
  })

  it('probes a TCP check and never leaves loopback', async () => {
    const port = (backend.address() as AddressInfo).port
    double.register({ Name: 'web', ID: 'w', Check: { TCP: `127.0.0.1:${port}`, Interval: '10s' } })
    double.register({ Name: 'far', ID: 'f', Check: { TCP: '192.0.2.1:80', Interval: '10s', Status: 'passing' } })
    await double.runChecks()
    expect(await checkStatus('web', 'service:w')).toBe('passing')
    expect(await checkStatus('far', 'service:f')).toBe('critical')
  })
})
