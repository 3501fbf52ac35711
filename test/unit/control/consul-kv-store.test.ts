import Consul from 'consul'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConsulKvStore } from '../../../src/control/consul-kv-store.js'
import { ControlService, type ControlChange } from '../../../src/control/control-service.js'
import { ControlError } from '../../../src/control/errors.js'
import { emptyState, type ControlState } from '../../../src/control/model.js'
import { ConsulDouble } from '../../support/consul-double.js'
import { clusterInput, seededService } from './fixtures/seed.js'

function withAccount(state: ControlState, id: string): ControlState {
  return { ...state, accounts: { ...state.accounts, [id]: { id, name: id, version: 1 } } }
}

describe('ConsulKvStore', () => {
  let double: ConsulDouble
  const clients: Consul[] = []
  const closers: (() => Promise<void>)[] = []

  function newStore(prefix = 'portway/control'): ConsulKvStore {
    const client = new Consul({ host: '127.0.0.1', port: double.port })
    clients.push(client)
    const store = new ConsulKvStore({ client, prefix, watchWaitMs: 5000 })
    closers.push(() => store.close())
    return store
  }

  async function newReplica(quotas = {}): Promise<ControlService> {
    const service = new ControlService({ store: newStore(), quotas })
    closers.push(() => service.close())
    await service.start()
    return service
  }

  beforeEach(async () => {
    double = await ConsulDouble.start()
  })

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    for (const client of clients.splice(0)) client.destroy()
    await double.stop()
  })

  it('starts empty without a key', async () => {
    const snapshot = await newStore().load()

    expect(snapshot).toEqual({ state: emptyState(), revision: 0 })
  })

  it('uses the ModifyIndex as revision', async () => {
    const store = newStore('team/a/')

    const written = await store.write(withAccount(emptyState(), 'acc-1'), 0)
    const loaded = await store.load()

    expect(store.key).toBe('team/a/state')
    expect(written.revision).toBe(double.kv.entries.get('team/a/state')?.modifyIndex)
    expect(loaded).toEqual(written)
  })

  it('lets one of two racing writers win', async () => {
    const a = newStore()
    const b = newStore()
    await a.write(emptyState(), 0)
    const base = await a.load()

    const results = await Promise.allSettled([
      a.write(withAccount(base.state, 'acc-a'), base.revision),
      b.write(withAccount(base.state, 'acc-b'), base.revision),
    ])

    const winners = results.filter((r) => r.status === 'fulfilled')
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(1)
    expect((losers[0]?.reason as ControlError).code).toBe('GW_CTL_CONFLICT')
    expect((losers[0]?.reason as ControlError).status).toBe(409)
    expect(Object.keys((await a.load()).state.accounts)).toHaveLength(1)
  })

  it('creates the key only once', async () => {
    const a = newStore()
    const b = newStore()
    await a.write(withAccount(emptyState(), 'acc-a'), 0)

    const err = await b.write(withAccount(emptyState(), 'acc-b'), 0).catch((e: unknown) => e)

    expect((err as ControlError).code).toBe('GW_CTL_CONFLICT')
    expect(Object.keys((await b.load()).state.accounts)).toEqual(['acc-a'])
  })

  it('rejects a corrupt value', async () => {
    const client = new Consul({ host: '127.0.0.1', port: double.port })
    clients.push(client)
    await client.kv.set('portway/control/state', '{"format":1,"state":')

    const err = await newStore().load().catch((e: unknown) => e)

    expect((err as ControlError).code).toBe('GW_CTL_STORE_CORRUPT')
    expect((err as ControlError).message).toContain('consul key portway/control/state')
  })

  it('rejects a value above the size limit', async () => {
    const client = new Consul({ host: '127.0.0.1', port: double.port })
    clients.push(client)
    const store = new ConsulKvStore({ client, maxValueBytes: 100 })

    const err = await store.write(withAccount(emptyState(), 'acc-1'), 0).catch((e: unknown) => e)

    expect((err as ControlError).code).toBe('GW_CTL_STORE_TOO_LARGE')
    expect(double.kv.entries.size).toBe(0)
  })

  it('reports an unreachable agent', async () => {
    const store = newStore()
    await double.stop()

    const err = await store.load().catch((e: unknown) => e)
    double = await ConsulDouble.start()

    expect((err as ControlError).code).toBe('GW_CTL_STORE_UNAVAILABLE')
    expect((err as ControlError).status).toBe(503)
  })

  it('replicas racing for the last cluster slot', async () => {
    const seed = await seededService({ clustersPerAccount: 2 }, newStore())
    const a = await newReplica({ clustersPerAccount: 2 })
    const b = await newReplica({ clustersPerAccount: 2 })
    await seed.close()

    const results = await Promise.allSettled([
      a.createCluster(clusterInput({ id: 'c-a' })),
      b.createCluster(clusterInput({ id: 'c-b' })),
    ])

    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ControlError).code))
    expect(codes.sort()).toEqual(['GW_CTL_CLUSTER_QUOTA_EXCEEDED', 'ok'])
    await a.refresh()
    expect(a.listClusters()).toHaveLength(2)
  })

  it('replicas both win with room left', async () => {
    await (await seededService({}, newStore())).close()
    const a = await newReplica()
    const b = await newReplica()

    await Promise.all([a.createCluster(clusterInput({ id: 'c-a' })), b.createCluster(clusterInput({ id: 'c-b' }))])

    await a.refresh()
    expect(a.listClusters().map((c) => c.id)).toEqual(['c-a', 'c-b', 'c1'])
  })

  it('replica sees another replica bind', async () => {
    await (await seededService({}, newStore())).close()
    const a = await newReplica()
    const b = await newReplica()
    const remote = new Promise<ControlChange>((resolve) => {
      b.onChange((change) => {
        if (change.origin === 'remote' && change.state.bindings['slb-1']) resolve(change)
      })
    })

    await a.bind('slb-1', 'c1')
    const change = await remote

    expect(change.revision).toBe(a.revision)
    expect(b.boundCluster('slb-1')?.cluster.id).toBe('c1')
  })
})
