import { describe, expect, it } from 'vitest'
import { ControlService, type ControlChange } from '../../../src/control/control-service.js'
import { ControlError } from '../../../src/control/errors.js'
import type { BoundCluster, ControlState, StateSnapshot } from '../../../src/control/model.js'
import { MemoryStore, revisionConflict } from '../../../src/control/store.js'
import { clusterInput, expandNode, seededService, serviceInput } from './fixtures/seed.js'

/** A store whose every write loses, as if another replica always wrote first. */
class AlwaysConflictingStore extends MemoryStore {
  writes = 0

  override async write(_state: ControlState, expectedRevision: number): Promise<StateSnapshot> {
    this.writes += 1
    throw revisionConflict('test', expectedRevision, expectedRevision + 1)
  }
}

describe('ControlService', () => {
  it('bumps the version on every update', async () => {
    const service = await seededService()

    const first = await service.updateCluster('c1', { name: 'a' })
    const second = await service.updateCluster('c1', { name: 'b' }, { expectedVersion: 2 })

    expect(first.version).toBe(2)
    expect(second.version).toBe(3)
    expect(service.getCluster('c1').name).toBe('b')
  })

  it('returns frozen records', async () => {
    const service = await seededService()

    const cluster = service.getCluster('c1')

    expect(Object.isFrozen(cluster)).toBe(true)
    expect(Object.isFrozen(cluster.zones)).toBe(true)
  })

  it('removes the consul mapping on null', async () => {
    const service = await seededService()
    await service.updateCluster('c1', { consul: { datacenter: 'dc1', tags: ['blue'] } })

    const cluster = await service.updateCluster('c1', { consul: null })

    expect(cluster.consul).toBeUndefined()
  })

  it('reports not found with the id', async () => {
    const service = await seededService()

    const err = await service.deleteCluster('c9').catch((e: unknown) => e)

    expect(err).toBeInstanceOf(ControlError)
    expect((err as ControlError).status).toBe(404)
    expect((err as ControlError).message).toBe('cluster c9 not found')
  })

  it('emits each local write', async () => {
    const service = await seededService()
    const changes: ControlChange[] = []
    service.onChange((c) => changes.push(c))

    await service.addNode(expandNode())

    expect(changes).toHaveLength(1)
    expect(changes[0]?.origin).toBe('local')
    expect(changes[0]?.revision).toBe(service.revision)
    expect(changes[0]?.state.nodes['i-expand']?.clusterId).toBe('c1')
  })

  it('writes nothing when binding an existing pair', async () => {
    const service = await seededService()
    const binding = await service.bind('slb-1', 'c1')
    const revision = service.revision

    const again = await service.bind('slb-1', 'c1')

    expect(again).toEqual(binding)
    expect(service.revision).toBe(revision)
  })

  it('boundCluster returns cluster and services', async () => {
    const service = await seededService()
    await service.createService(serviceInput({ name: 'web' }))
    await service.createService(serviceInput({ name: 'api', ports: [{ name: 'grpc', port: 9000 }] }))

    expect(service.boundCluster('slb-1')).toBeUndefined()
    await service.bind('slb-1', 'c1')
    const bound = service.boundCluster('slb-1')

    expect(bound?.cluster.id).toBe('c1')
    expect(bound?.services.map((s) => s.name)).toEqual(['api', 'web'])
  })

  it('watchBoundCluster follows only its SLB', async () => {
    const service = await seededService()
    const seen: (BoundCluster | undefined)[] = []
    service.watchBoundCluster('slb-1', (b) => seen.push(b))

    await service.bind('slb-1', 'c1')
    await service.createService(serviceInput())
    await service.createCluster(clusterInput({ id: 'c2' }))
    await service.bind('slb-2', 'c2')
    await service.unbind('slb-1')

    expect(seen.map((b) => b?.services.length)).toEqual([undefined, 0, 1, undefined])
    expect(seen[1]?.cluster.id).toBe('c1')
  })

  it('keeps notifying after a listener throws', async () => {
    const service = await seededService()
    let calls = 0
    service.onChange(() => {
      throw new Error('listener bug')
    })
    service.onChange(() => {
      calls += 1
    })

    await service.addNode(expandNode())

    expect(calls).toBe(1)
  })

  it('retries a write that lost a race', async () => {
    const store = new MemoryStore()
    const a = await seededService({}, store)
    const b = new ControlService({ store })
    await b.start()
    await a.createCluster(clusterInput({ id: 'c2' }))

    // b still has the state before c2 existed, so its first write conflicts.
    await b.createCluster(clusterInput({ id: 'c3' }))

    await a.refresh()
    expect(a.listClusters().map((c) => c.id)).toEqual(['c1', 'c2', 'c3'])
  })

  it('rechecks rules after a lost race', async () => {
    const store = new MemoryStore()
    const a = await seededService({ clustersPerAccount: 2 }, store)
    const b = new ControlService({ store, quotas: { clustersPerAccount: 2 } })
    await b.start()
    await a.createCluster(clusterInput({ id: 'c2' }))

    const err = await b.createCluster(clusterInput({ id: 'c3' })).catch((e: unknown) => e)

    expect((err as ControlError).code).toBe('GW_CTL_CLUSTER_QUOTA_EXCEEDED')
    expect(b.listClusters().map((c) => c.id)).toEqual(['c1', 'c2'])
  })

  it('gives up after maxWriteAttempts', async () => {
    const store = new AlwaysConflictingStore()
    const service = new ControlService({ store, maxWriteAttempts: 3 })
    await service.start()

    const err = await service.createAccount({ id: 'acc-1' }).catch((e: unknown) => e)

    expect((err as ControlError).code).toBe('GW_CTL_CONFLICT')
    expect((err as ControlError).status).toBe(409)
    expect(store.writes).toBe(3)
  })

  it('serialises concurrent writes of one service', async () => {
    const service = await seededService({ workerNodesPerCluster: 3 })

    const results = await Promise.allSettled(
      [0, 1, 2, 3, 4].map((i) => service.addNode(expandNode({ id: `i-${i}` }))),
    )

    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ControlError).code))
    expect(codes).toEqual(['ok', 'ok', 'ok', 'GW_CTL_NODE_QUOTA_EXCEEDED', 'GW_CTL_NODE_QUOTA_EXCEEDED'])
  })

  it('rejects reads before start', () => {
    const service = new ControlService({ store: new MemoryStore() })

    expect(() => service.listClusters()).toThrow('ControlService used before start() resolved')
  })
})
