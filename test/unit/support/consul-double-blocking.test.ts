import { EventEmitter } from 'node:events'
import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConsulDouble } from '../../support/consul-double.js'
import { callDouble } from '../../support/consul-double-fetch.js'
import { parseGoDuration } from '../../support/consul-double-util.js'

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

async function indexOf(path: string): Promise<number> {
  const res = await callDouble(double, path)
  return Number(res.headers.get('x-consul-index'))
}

/** Starts a blocking read and waits until the double holds it; `response` settles later. */
async function blockedRead(path: string) {
  const before = double.waiting()
  const response = callDouble(double, path)
  await vi.waitFor(() => expect(double.waiting()).toBe(before + 1))
  return { response }
}

describe('Go duration parsing', () => {
  it.each([
    ['300ms', 300],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h2m3s', 3_723_000],
    ['0', 0],
    ['10us', 0.01],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms)
  })

  it.each(['', '5', 'ms', '1d', '1.2.3s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined()
  })
})

describe('blocking queries', () => {
  it('answers at once when the index is below the current one', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const res = await callDouble(double, `/v1/health/service/web?index=${index - 1}&wait=10m`)
    expect(res.status).toBe(200)
    expect(double.waiting()).toBe(0)
  })

  it('holds a reader until the service changes', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const { response: pending } = await blockedRead(`/v1/health/service/web?index=${index}&wait=1m`)
    double.register({ Name: 'web', ID: 'web-2', Port: 2 })
    const res = await pending
    expect(Number(res.headers.get('x-consul-index'))).toBeGreaterThan(index)
    expect(res.json).toHaveLength(2)
  })

  it('wakes a reader when the last instance is deleted', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const { response: pending } = await blockedRead(`/v1/health/service/web?index=${index}&wait=1m`)
    await consul.agent.service.deregister('web')
    const res = await pending
    expect(res.json).toEqual([])
    expect(Number(res.headers.get('x-consul-index'))).toBeGreaterThan(index)
  })

  it('keeps a reader blocked across unrelated services', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const { response: pending } = await blockedRead(`/v1/health/service/web?index=${index}&wait=1m`)
    double.register({ Name: 'other', Port: 2 })
    await new Promise((resolve) => setImmediate(resolve))
    expect(double.waiting('health.service')).toBe(1)
    double.releaseWaiters()
    await pending
  })

  it('returns the current index when the wait runs out', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const res = await callDouble(double, `/v1/health/service/web?index=${index}&wait=20ms`)
    expect(res.status).toBe(200)
    expect(Number(res.headers.get('x-consul-index'))).toBe(index)
  })

  it('adds jitter to the wait', async () => {
    const jitter = vi.fn((waitMs: number) => waitMs / 16)
    const jittery = await ConsulDouble.start({ jitter })
    try {
      await fetch(`http://${jittery.address}/v1/health/service/web?index=${jittery.index}&wait=16ms`)
      expect(jitter).toHaveBeenCalledWith(16)
    } finally {
      await jittery.stop()
    }
  })

  it('rejects an invalid wait or index', async () => {
    expect((await callDouble(double, '/v1/health/service/web?index=1&wait=soon')).text).toBe('Invalid wait time')
    expect((await callDouble(double, '/v1/health/service/web?index=-1')).status).toBe(400)
  })

  it('blocks through the client with index and wait', async () => {
    double.register({ Name: 'web', Port: 1 })
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true })
    const index = await indexOf('/v1/health/service/web')
    const pending = consul.health.service({ service: 'web', index: String(index), wait: '1m', ctx } as never)
    await vi.waitFor(() => expect(double.waiting()).toBe(1))
    double.setCheckStatus('serfHealth', 'warning')
    const [res, body] = (await pending) as unknown as [{ headers: Record<string, string> }, unknown[]]
    expect(Number(res.headers['x-consul-index'])).toBeGreaterThan(index)
    expect(body).toHaveLength(1)
  })

  it('blocks on catalog/services', async () => {
    const index = await indexOf('/v1/catalog/services')
    const { response: pending } = await blockedRead(`/v1/catalog/services?index=${index}&wait=1m`)
    double.register({ Name: 'new', Port: 1 })
    expect((await pending).json).toEqual({ new: [] })
  })
})

describe('spurious wake-ups and index anomalies', () => {
  it('releases readers with an unchanged index', async () => {
    double.register({ Name: 'web', Port: 1 })
    const index = await indexOf('/v1/health/service/web')
    const { response: pending } = await blockedRead(`/v1/health/service/web?index=${index}&wait=10m`)
    double.releaseWaiters('health.service')
    const res = await pending
    expect(Number(res.headers.get('x-consul-index'))).toBe(index)
  })

  it('bumps the index with content unchanged', async () => {
    double.register({ Name: 'web', Port: 1 })
    const before = await callDouble(double, '/v1/health/service/web')
    const { response: pending } = await blockedRead(`/v1/health/service/web?index=${before.headers.get('x-consul-index')}&wait=10m`)
    double.touchService('web')
    const after = await pending
    expect(Number(after.headers.get('x-consul-index'))).toBeGreaterThan(Number(before.headers.get('x-consul-index')))
    expect(after.json).toEqual(before.json)
  })

  it('lowers the index on snapshot restore and hangs a reader ahead of it', async () => {
    for (let i = 0; i < 5; i++) double.register({ Name: 'web', ID: `w${i}`, Port: i + 1 })
    const high = await indexOf('/v1/health/service/web')
    double.restoreSnapshot(2)
    const res = await callDouble(double, `/v1/health/service/web?index=${high}&wait=30ms`)
    expect(Number(res.headers.get('x-consul-index'))).toBeLessThanOrEqual(2)
    expect(res.json).toHaveLength(5)
  })

  it('lowers the index on restart and serves on the same port', async () => {
    for (let i = 0; i < 5; i++) double.register({ Name: 'web', ID: `w${i}`, Port: i + 1 })
    const port = double.port
    await double.restart({ index: 3 })
    expect(double.port).toBe(port)
    expect(await indexOf('/v1/health/service/web')).toBeLessThanOrEqual(3)
  })

  it('sends index 0 in legacy mode and never otherwise', async () => {
    expect(await indexOf('/v1/health/service/none')).toBeGreaterThanOrEqual(1)
    double.setLegacyZeroIndex(true)
    expect((await callDouble(double, '/v1/health/service/none')).headers.get('x-consul-index')).toBe('0')
  })
})

describe('consistency and leader state', () => {
  it.each([
    ['', 'leader'],
    ['?stale', 'stale'],
    ['?consistent', 'consistent'],
  ])('reports consistency for %j', async (query, mode) => {
    const res = await callDouble(double, `/v1/health/service/web${query}`)
    expect(res.headers.get('x-consul-effective-consistency')).toBe(mode)
    expect(res.headers.get('x-consul-knownleader')).toBe('true')
    expect(res.headers.get('x-consul-lastcontact')).toBe('0')
    expect(res.headers.get('x-consul-default-acl-policy')).toBe('allow')
  })

  it('rejects stale together with consistent', async () => {
    expect((await callDouble(double, '/v1/health/service/web?stale&consistent')).status).toBe(400)
  })

  it('fails default reads without a leader but serves stale ones', async () => {
    double.setLeader(false)
    const leaderRead = await callDouble(double, '/v1/health/service/web')
    expect(leaderRead.status).toBe(500)
    expect(leaderRead.text).toBe('No cluster leader')
    expect(leaderRead.headers.get('content-type')).toMatch(/^text\/plain/)
    expect((await callDouble(double, '/v1/health/service/web?consistent')).status).toBe(500)
    const stale = await callDouble(double, '/v1/health/service/web?stale')
    expect(stale.status).toBe(200)
    expect(stale.headers.get('x-consul-knownleader')).toBe('false')
  })

  it('grows LastContact while the leader is gone', async () => {
    const { ManualClock } = await import('../../support/consul-double.js')
    const clock = new ManualClock()
    const leaderless = await ConsulDouble.start({ clock })
    try {
      leaderless.setLeader(false)
      clock.advance(4000)
      const res = await fetch(`http://${leaderless.address}/v1/health/service/web?stale`)
      expect(res.headers.get('x-consul-lastcontact')).toBe('4000')
    } finally {
      await leaderless.stop()
    }
  })

  it('reports KnownLeader false while healthy in streaming mode', async () => {
    double.setKnownLeaderHeader(false)
    const res = await callDouble(double, '/v1/health/service/web')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-consul-knownleader')).toBe('false')
  })

  it('surfaces the leader error through the client', async () => {
    double.setLeader(false)
    const err = (await consul.health.service('web').catch((e: unknown) => e)) as Error & { statusCode?: number }
    expect(err.statusCode).toBe(500)
    expect(err.message).toContain('No cluster leader')
  })
})
