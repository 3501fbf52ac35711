import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConsulDouble, ManualClock } from '../../support/consul-double.js'
import { callDouble } from '../../support/consul-double-fetch.js'

interface KvPair {
  Key: string
  Value: string | null
  Flags: number
  LockIndex: number
  Session?: string
  CreateIndex: number
  ModifyIndex: number
}

let clock: ManualClock
let double: ConsulDouble
let consul: Consul

beforeEach(async () => {
  clock = new ManualClock()
  double = await ConsulDouble.start({ clock, jitter: () => 0 })
  consul = new Consul({ host: '127.0.0.1', port: double.port })
})

afterEach(async () => {
  consul.destroy()
  await double.stop()
})

describe('KV reads and writes', () => {
  it('stores a value and returns it base64 in an array', async () => {
    expect(await consul.kv.set('lb/rules', 'hello')).toBe(true)
    const res = await callDouble(double, '/v1/kv/lb/rules')
    const [pair] = res.json as KvPair[]
    expect(pair?.Value).toBe(Buffer.from('hello').toString('base64'))
    expect(pair?.Key).toBe('lb/rules')
    expect(pair?.LockIndex).toBe(0)
    expect(Number(res.headers.get('x-consul-index'))).toBe(pair?.ModifyIndex)
    const viaClient = (await consul.kv.get('lb/rules')) as KvPair
    expect(viaClient.Value).toBe('hello')
  })

  it('answers a missing key with 404 and an index', async () => {
    const res = await callDouble(double, '/v1/kv/missing')
    expect(res.status).toBe(404)
    expect(Number(res.headers.get('x-consul-index'))).toBeGreaterThanOrEqual(1)
    expect(await consul.kv.get('missing')).toBeUndefined()
  })

  it('stores an empty body as a null value', async () => {
    await callDouble(double, '/v1/kv/empty', { method: 'PUT', body: '' })
    expect(((await callDouble(double, '/v1/kv/empty')).json as KvPair[])[0]?.Value).toBeNull()
  })

  it('returns the raw value', async () => {
    await consul.kv.set('raw', 'bytes')
    const res = await callDouble(double, '/v1/kv/raw?raw')
    expect(res.text).toBe('bytes')
  })

  it('stores flags', async () => {
    await consul.kv.set({ key: 'f', value: 'x', flags: 42 })
    expect(((await consul.kv.get('f')) as KvPair).Flags).toBe(42)
  })

  it('rejects a value over 512 KB', async () => {
    const res = await callDouble(double, '/v1/kv/big', { method: 'PUT', body: Buffer.alloc(512 * 1024 + 1) })
    expect(res.status).toBe(413)
    expect((await callDouble(double, '/v1/kv/big', { method: 'PUT', body: Buffer.alloc(512 * 1024) })).status).toBe(200)
  })

  it('lists a subtree with recurse, keys and separator', async () => {
    for (const key of ['app/a', 'app/b/c', 'app/b/d', 'other']) await consul.kv.set(key, key)
    const all = (await consul.kv.get({ key: 'app/', recurse: true })) as KvPair[]
    expect(all.map((p) => p.Key)).toEqual(['app/a', 'app/b/c', 'app/b/d'])
    expect(await consul.kv.keys('app/')).toEqual(['app/a', 'app/b/c', 'app/b/d'])
    expect(await consul.kv.keys({ key: 'app/', separator: '/' })).toEqual(['app/a', 'app/b/'])
  })

  it('lowers the recursive index when the newest key is deleted', async () => {
    await consul.kv.set('app/a', '1')
    await consul.kv.set('app/b', '2')
    const before = Number((await callDouble(double, '/v1/kv/app/?recurse')).headers.get('x-consul-index'))
    await consul.kv.del('app/b')
    const after = Number((await callDouble(double, '/v1/kv/app/?recurse')).headers.get('x-consul-index'))
    expect(after).toBeLessThan(before)
  })

  it('blocks on a key that does not exist yet', async () => {
    const first = await callDouble(double, '/v1/kv/later')
    const pending = callDouble(double, `/v1/kv/later?index=${first.headers.get('x-consul-index')}&wait=1m`)
    await vi.waitFor(() => expect(double.waiting('kv.get')).toBe(1))
    await consul.kv.set('later', 'now')
    expect((await pending).status).toBe(200)
  })
})

// The client resolves a literal `false` body to undefined (papi drops falsy bodies), so client
// results are checked with toBeFalsy and the wire value with plain HTTP.
describe('KV check-and-set', () => {
  it('answers a failed write with the literal false', async () => {
    await callDouble(double, '/v1/kv/k?cas=0', { method: 'PUT', body: 'a' })
    const res = await callDouble(double, '/v1/kv/k?cas=0', { method: 'PUT', body: 'b' })
    expect(res.status).toBe(200)
    expect(res.text).toBe('false')
  })

  it('creates only when absent with cas=0', async () => {
    expect(await consul.kv.set({ key: 'k', value: 'a', cas: 0 })).toBe(true)
    expect(await consul.kv.set({ key: 'k', value: 'b', cas: 0 })).toBeFalsy()
  })

  it('writes only at the matching ModifyIndex', async () => {
    await consul.kv.set('k', 'a')
    const pair = (await consul.kv.get('k')) as KvPair
    expect(await consul.kv.set({ key: 'k', value: 'b', cas: pair.ModifyIndex + 1 })).toBeFalsy()
    expect(await consul.kv.set({ key: 'k', value: 'b', cas: pair.ModifyIndex })).toBe(true)
    expect(await consul.kv.set({ key: 'k', value: 'c', cas: pair.ModifyIndex })).toBeFalsy()
  })

  it('deletes with cas only at the matching index and never with cas=0', async () => {
    await consul.kv.set('k', 'a')
    const pair = (await consul.kv.get('k')) as KvPair
    expect(await consul.kv.del({ key: 'k', cas: 0 })).toBeFalsy()
    expect(await consul.kv.del({ key: 'k', cas: pair.ModifyIndex })).toBe(true)
    expect(await consul.kv.get('k')).toBeUndefined()
  })

  it('deletes a subtree with recurse', async () => {
    for (const key of ['t/a', 't/b', 'u']) await consul.kv.set(key, '1')
    expect(await consul.kv.del({ key: 't/', recurse: true })).toBe(true)
    expect(await consul.kv.keys('')).toEqual(['u'])
  })
})

describe('sessions and locks', () => {
  async function session(opts: Record<string, unknown> = {}): Promise<string> {
    const { ID } = (await consul.session.create({ name: 'lb-leader', ttl: '15s', ...opts })) as { ID: string }
    return ID
  }

  it('acquires a lock once and bumps LockIndex', async () => {
    const a = await session()
    const b = await session()
    expect(await consul.kv.set({ key: 'lb/leader', value: 'a', acquire: a })).toBe(true)
    expect(await consul.kv.set({ key: 'lb/leader', value: 'b', acquire: b })).toBeFalsy()
    expect(await consul.kv.set({ key: 'lb/leader', value: 'a2', acquire: a })).toBe(true)
    const pair = (await consul.kv.get('lb/leader')) as KvPair
    expect(pair.Session).toBe(a)
    expect(pair.LockIndex).toBe(1)
    expect(pair.Value).toBe('a2')
  })

  it('releases a lock only for the holder', async () => {
    const a = await session()
    const b = await session()
    await consul.kv.set({ key: 'l', value: 'a', acquire: a })
    expect(await consul.kv.set({ key: 'l', value: 'x', release: b })).toBeFalsy()
    expect(await consul.kv.set({ key: 'l', value: 'a', release: a })).toBe(true)
    const pair = (await consul.kv.get('l')) as KvPair
    expect(pair.Session).toBeUndefined()
    expect(pair.LockIndex).toBe(1)
  })

  it('lets a plain write overwrite a locked key', async () => {
    const a = await session()
    await consul.kv.set({ key: 'l', value: 'a', acquire: a })
    expect(await consul.kv.set('l', 'plain')).toBe(true)
    expect(((await consul.kv.get('l')) as KvPair).Session).toBe(a)
  })

  it('rejects acquire with an unknown session', async () => {
    await expect(consul.kv.set({ key: 'l', value: 'a', acquire: 'nope' })).rejects.toMatchObject({ statusCode: 500 })
  })

  it('expires a TTL session on the clock and enforces lock-delay', async () => {
    const a = await session({ lockdelay: '5s' })
    const b = await session({ ttl: '60s' })
    await consul.kv.set({ key: 'l', value: 'a', acquire: a })
    clock.advance(15_000)
    expect(await consul.session.info(a)).toBeDefined()
    clock.advance(15_001)
    expect(await consul.session.info(a)).toBeUndefined()
    expect(((await consul.kv.get('l')) as KvPair).Session).toBeUndefined()
    expect(await consul.kv.set({ key: 'l', value: 'b', acquire: b })).toBeFalsy()
    clock.advance(5_000)
    expect(await consul.kv.set({ key: 'l', value: 'b', acquire: b })).toBe(true)
  })

  it('deletes held keys when the behaviour is delete', async () => {
    const a = await session({ behavior: 'delete', lockdelay: '0s' })
    await consul.kv.set({ key: 'l', value: 'a', acquire: a })
    await consul.session.destroy(a)
    expect(await consul.kv.get('l')).toBeUndefined()
  })

  it('renews a session and can hand back a higher TTL', async () => {
    const a = await session()
    clock.advance(20_000)
    const [renewed] = (await consul.session.renew(a)) as Array<{ ID: string; TTL: string }>
    expect(renewed?.TTL).toBe('15s')
    clock.advance(20_000)
    expect(await consul.session.info(a)).toBeDefined()
    double.sessions.setTtl(a, '60s')
    const [raised] = (await consul.session.renew(a)) as Array<{ TTL: string }>
    expect(raised?.TTL).toBe('60s')
  })

  it('answers renew of an unknown session with 404 and destroy with true', async () => {
    await expect(consul.session.renew('nope')).rejects.toMatchObject({ statusCode: 404 })
    expect((await callDouble(double, '/v1/session/destroy/nope', { method: 'PUT' })).json).toBe(true)
    expect((await callDouble(double, '/v1/session/info/nope')).json).toEqual([])
  })

  it('invalidates a session when its node check goes critical', async () => {
    const a = await session()
    await consul.kv.set({ key: 'l', value: 'a', acquire: a })
    double.setNodeHealth('node-1', 'critical')
    expect(await consul.session.info(a)).toBeUndefined()
    expect(((await consul.kv.get('l')) as KvPair).Session).toBeUndefined()
  })

  it('rejects a TTL outside 10s to 24h', async () => {
    await expect(session({ ttl: '5s' })).rejects.toMatchObject({ statusCode: 400 })
  })
})
