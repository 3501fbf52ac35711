import { describe, expect, it } from 'vitest'
import type { ControlService } from '../../../src/control/control-service.js'
import { CONTROL_ERRORS, ControlError, type ControlErrorCode } from '../../../src/control/errors.js'
import type { Cluster, SlbInstance } from '../../../src/control/model.js'
import { checkAddressType, type ControlQuotas } from '../../../src/control/rules.js'
import { attachNode, clusterInput, expandNode, seededService, serviceInput, slbInput } from './fixtures/seed.js'

interface RuleCase {
  name: string
  quotas?: Partial<ControlQuotas>
  setup?: (s: ControlService) => Promise<unknown>
  act: (s: ControlService) => Promise<unknown>
  /** Expected error code, or undefined when the action must succeed. */
  code?: ControlErrorCode
  field?: string
}

async function addClusters(s: ControlService, ids: string[], regionId = 'r1'): Promise<void> {
  const zones = regionId === 'r1' ? ['z1'] : ['z9']
  for (const id of ids) await s.createCluster(clusterInput({ id, regionId, zones }))
}

async function addWorkers(s: ControlService, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.addNode(expandNode({ id: `i-w${i}` }))
}

const cases: RuleCase[] = [
  // Cluster quota: seeded cluster c1 counts as the first of acc-1.
  { name: 'fifth cluster of an account', setup: (s) => addClusters(s, ['c2', 'c3']), act: (s) => addClusters(s, ['c4', 'c5'], 'r2') },
  {
    name: 'sixth cluster across regions',
    setup: (s) => addClusters(s, ['c2', 'c3']).then(() => addClusters(s, ['c4', 'c5'], 'r2')),
    act: (s) => s.createCluster(clusterInput({ id: 'c6', regionId: 'r2', zones: ['z9'] })),
    code: 'GW_CTL_CLUSTER_QUOTA_EXCEEDED',
    field: 'accountId',
  },
  {
    name: 'cluster of another account under quota',
    setup: (s) => addClusters(s, ['c2', 'c3', 'c4', 'c5']),
    act: (s) => s.createCluster(clusterInput({ id: 'c6', accountId: 'acc-2' })),
  },
  {
    name: 'configured cluster quota',
    quotas: { clustersPerAccount: 2 },
    setup: (s) => addClusters(s, ['c2']),
    act: (s) => addClusters(s, ['c3']),
    code: 'GW_CTL_CLUSTER_QUOTA_EXCEEDED',
  },
  {
    name: 'cluster zone outside its region',
    act: (s) => s.createCluster(clusterInput({ id: 'c2', zones: ['z1', 'z9'] })),
    code: 'GW_CTL_CLUSTER_ZONE_UNKNOWN',
    field: 'zones[1]',
  },
  { name: 'cluster of unknown account', act: (s) => s.createCluster(clusterInput({ id: 'c2', accountId: 'acc-9' })), code: 'GW_CTL_NOT_FOUND', field: 'accountId' },
  { name: 'cluster with a taken id', act: (s) => s.createCluster(clusterInput()), code: 'GW_CTL_ALREADY_EXISTS', field: 'id' },

  // Worker quota.
  { name: 'twentieth worker node', setup: (s) => addWorkers(s, 19), act: (s) => s.addNode(expandNode()) },
  { name: 'twenty-first worker node', setup: (s) => addWorkers(s, 20), act: (s) => s.addNode(expandNode()), code: 'GW_CTL_NODE_QUOTA_EXCEEDED', field: 'clusterId' },
  { name: 'master beyond worker quota', quotas: { workerNodesPerCluster: 1 }, setup: (s) => addWorkers(s, 1), act: (s) => s.addNode(expandNode({ role: 'master' })) },
  { name: 'configured worker quota', quotas: { workerNodesPerCluster: 1 }, setup: (s) => addWorkers(s, 1), act: (s) => s.addNode(attachNode()), code: 'GW_CTL_NODE_QUOTA_EXCEEDED' },
  {
    name: 'master promoted to worker over quota',
    quotas: { workerNodesPerCluster: 1 },
    setup: (s) => addWorkers(s, 1).then(() => s.addNode(expandNode({ role: 'master' }))),
    act: (s) => s.updateNode('i-expand', { role: 'worker' }),
    code: 'GW_CTL_NODE_QUOTA_EXCEEDED',
  },

  // Expanded nodes.
  { name: 'expanded pay-as-you-go node', act: (s) => s.addNode(expandNode()) },
  { name: 'expanded subscription node', act: (s) => s.addNode(expandNode({ billing: 'subscription' })), code: 'GW_CTL_NODE_BILLING_INVALID', field: 'billing' },
  {
    name: 'expanded node switched to subscription',
    setup: (s) => s.addNode(expandNode()),
    act: (s) => s.updateNode('i-expand', { billing: 'subscription' }),
    code: 'GW_CTL_NODE_BILLING_INVALID',
  },
  { name: 'expanded node in another VPC', act: (s) => s.addNode(expandNode({ vpcId: 'vpc-2' })), code: 'GW_CTL_NODE_VPC_MISMATCH', field: 'vpcId' },
  { name: 'expanded node outside cluster zones', act: (s) => s.addNode(expandNode({ zoneId: 'z3' })), code: 'GW_CTL_NODE_ZONE_MISMATCH', field: 'zoneId' },
  { name: 'node of unknown cluster', act: (s) => s.addNode(expandNode({ clusterId: 'c9' })), code: 'GW_CTL_NOT_FOUND', field: 'clusterId' },
  { name: 'instance already in a cluster', setup: (s) => s.addNode(expandNode()), act: (s) => s.addNode(expandNode()), code: 'GW_CTL_ALREADY_EXISTS' },

  // Attached instances.
  { name: 'attached subscription instance', act: (s) => s.addNode(attachNode()) },
  { name: 'attached instance in another region', act: (s) => s.addNode(attachNode({ regionId: 'r2' })), code: 'GW_CTL_NODE_REGION_MISMATCH', field: 'regionId' },
  { name: 'attached instance in another VPC', act: (s) => s.addNode(attachNode({ vpcId: 'vpc-2' })), code: 'GW_CTL_NODE_VPC_MISMATCH', field: 'vpcId' },
  { name: 'attached instance of another account', act: (s) => s.addNode(attachNode({ accountId: 'acc-2' })), code: 'GW_CTL_NODE_ACCOUNT_MISMATCH', field: 'accountId' },
  { name: 'attached instance without elastic IP', act: (s) => s.addNode(attachNode({ hasElasticIp: false })), code: 'GW_CTL_NODE_NO_ELASTIC_IP', field: 'hasElasticIp' },
  {
    name: 'elastic IP removed from attached node',
    setup: (s) => s.addNode(attachNode()),
    act: (s) => s.updateNode('i-attach', { hasElasticIp: false }),
    code: 'GW_CTL_NODE_NO_ELASTIC_IP',
  },

  // Binding.
  { name: 'internet SLB to same region and account', act: (s) => s.bind('slb-1', 'c1') },
  { name: 'intranet SLB to VPC cluster', setup: (s) => s.createSlb(slbInput({ id: 'slb-in', addressType: 'intranet' })), act: (s) => s.bind('slb-in', 'c1') },
  {
    name: 'SLB of another region',
    setup: (s) => s.createSlb(slbInput({ id: 'slb-r2', regionId: 'r2' })),
    act: (s) => s.bind('slb-r2', 'c1'),
    code: 'GW_CTL_SLB_REGION_MISMATCH',
  },
  {
    name: 'SLB of another account',
    setup: (s) => s.createSlb(slbInput({ id: 'slb-a2', accountId: 'acc-2' })),
    act: (s) => s.bind('slb-a2', 'c1'),
    code: 'GW_CTL_SLB_ACCOUNT_MISMATCH',
  },
  { name: 'second SLB for a cluster', setup: (s) => s.bind('slb-1', 'c1'), act: (s) => s.bind('slb-2', 'c1'), code: 'GW_CTL_CLUSTER_ALREADY_BOUND', field: 'clusterId' },
  {
    name: 'SLB shared by two clusters',
    setup: (s) => s.bind('slb-1', 'c1').then(() => addClusters(s, ['c2'])),
    act: (s) => s.bind('slb-1', 'c2'),
    code: 'GW_CTL_SLB_ALREADY_BOUND',
    field: 'slbId',
  },
  { name: 'same binding twice', setup: (s) => s.bind('slb-1', 'c1'), act: (s) => s.bind('slb-1', 'c1') },
  { name: 'unknown SLB', act: (s) => s.bind('slb-9', 'c1'), code: 'GW_CTL_NOT_FOUND', field: 'slbId' },
  { name: 'rebinding after unbind', setup: (s) => s.bind('slb-1', 'c1').then(() => s.unbind('slb-1')), act: (s) => s.bind('slb-2', 'c1') },

  // Deletion.
  { name: 'cluster with nodes', setup: (s) => s.addNode(expandNode()), act: (s) => s.deleteCluster('c1'), code: 'GW_CTL_CLUSTER_NOT_EMPTY' },
  { name: 'cluster with binding', setup: (s) => s.bind('slb-1', 'c1'), act: (s) => s.deleteCluster('c1'), code: 'GW_CTL_CLUSTER_NOT_EMPTY' },
  { name: 'cluster with only services', setup: (s) => s.createService(serviceInput()), act: (s) => s.deleteCluster('c1') },
  { name: 'bound SLB', setup: (s) => s.bind('slb-1', 'c1'), act: (s) => s.deleteSlb('slb-1'), code: 'GW_CTL_SLB_BOUND' },
  { name: 'unbound SLB', act: (s) => s.deleteSlb('slb-1') },
  { name: 'account with clusters', act: (s) => s.deleteAccount('acc-1'), code: 'GW_CTL_IN_USE' },
  { name: 'region with clusters', act: (s) => s.deleteRegion('r1'), code: 'GW_CTL_IN_USE' },
  { name: 'unused account', act: (s) => s.deleteAccount('acc-2') },
  { name: 'zone removed under a node', setup: (s) => s.addNode(attachNode()), act: (s) => s.updateCluster('c1', { zones: ['z1'] }), code: 'GW_CTL_IN_USE', field: 'zones' },

  // Services and versions.
  {
    name: 'service port used by another service',
    setup: (s) => s.createService(serviceInput()),
    act: (s) => s.createService(serviceInput({ name: 'api', ports: [{ name: 'web', port: 80 }] })),
    code: 'GW_CTL_SERVICE_PORT_IN_USE',
    field: 'ports[0].port',
  },
  { name: 'service port free in another cluster', setup: (s) => s.createService(serviceInput()).then(() => addClusters(s, ['c2'])), act: (s) => s.createService(serviceInput({ clusterId: 'c2' })) },
  { name: 'update with current version', act: (s) => s.updateCluster('c1', { name: 'renamed' }, { expectedVersion: 1 }) },
  { name: 'update with stale version', setup: (s) => s.updateCluster('c1', { name: 'a' }), act: (s) => s.updateCluster('c1', { name: 'b' }, { expectedVersion: 1 }), code: 'GW_CTL_CONFLICT', field: 'version' },
  { name: 'change of a fixed field', act: (s) => s.updateCluster('c1', { vpcId: 'vpc-2' }), code: 'GW_CTL_INVALID', field: 'vpcId' },
]

describe('control rules', () => {
  const titled = cases.map((c) => ({ ...c, title: `${c.code === undefined ? 'accepts' : 'rejects'} ${c.name}` }))

  it.each(titled)('$title', async ({ quotas, setup, act, code, field }) => {
    const service = await seededService(quotas)
    await setup?.(service)

    const outcome = await act(service).then(
      () => undefined,
      (err: unknown) => err,
    )

    if (code === undefined) {
      expect(outcome).toBeUndefined()
      return
    }
    expect(outcome).toBeInstanceOf(ControlError)
    const err = outcome as ControlError
    expect(err.code).toBe(code)
    expect(err.status).toBe(CONTROL_ERRORS[code].status)
    if (field !== undefined) expect(err.field).toBe(field)
  })

  it('rejected write leaves the state unchanged', async () => {
    const service = await seededService()
    const revision = service.revision

    await expect(service.addNode(attachNode({ vpcId: 'vpc-2' }))).rejects.toThrow(ControlError)

    expect(service.revision).toBe(revision)
    expect(service.listNodes()).toEqual([])
  })

  it('quota message names account, count and config key', async () => {
    const service = await seededService({ clustersPerAccount: 1 })

    const err = await service.createCluster(clusterInput({ id: 'c2' })).catch((e: unknown) => e)

    expect((err as Error).message).toBe(
      'account acc-1 already has 1 clusters (quota 1); delete a cluster or raise control.quotas.clustersPerAccount',
    )
  })

  it('cluster deletion message names what to remove', async () => {
    const service = await seededService()
    await service.addNode(expandNode())
    await service.bind('slb-1', 'c1')

    const err = await service.deleteCluster('c1').catch((e: unknown) => e)

    expect((err as Error).message).toBe(
      'cluster c1 cannot be deleted yet; first remove its 1 node(s) (i-expand) and unbind SLB slb-1',
    )
  })

  it('address type outside the allowed table', () => {
    const cluster = { id: 'c1', networkType: 'vpc' } as Cluster
    const slb = { id: 'slb-1', addressType: 'classic-public' } as unknown as SlbInstance

    const err = (() => {
      try {
        checkAddressType(slb, cluster)
        return undefined
      } catch (e) {
        return e as ControlError
      }
    })()

    expect(err?.code).toBe('GW_CTL_SLB_ADDRESS_TYPE_INVALID')
    expect(err?.status).toBe(422)
  })

  it('address type change on a bound SLB', async () => {
    const service = await seededService()
    await service.bind('slb-1', 'c1')

    const slb = await service.updateSlb('slb-1', { addressType: 'intranet' })

    expect(slb.addressType).toBe('intranet')
    expect(slb.version).toBe(2)
  })
})
