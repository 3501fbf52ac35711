import { ControlError } from './errors.js'
import type {
  AddressType,
  Cluster,
  ClusterNode,
  ControlState,
  NetworkType,
  Service,
  SlbInstance,
  Versioned,
} from './model.js'

/** Limits enforced on every write. Config keys: `control.quotas.<field>`. */
export interface ControlQuotas {
  /** Clusters one account may own, summed over all regions. */
  clustersPerAccount: number
  /** Worker nodes one cluster may hold. Master nodes do not count. */
  workerNodesPerCluster: number
}

export const DEFAULT_QUOTAS: Readonly<ControlQuotas> = Object.freeze({
  clustersPerAccount: 5,
  workerNodesPerCluster: 20,
})

/** SLB address types that a cluster of each network type may bind. */
export const BINDABLE_ADDRESS_TYPES: Readonly<Record<NetworkType, readonly AddressType[]>> =
  Object.freeze({ vpc: ['internet', 'intranet'] })

type Kind = 'account' | 'region' | 'cluster' | 'node' | 'service' | 'SLB' | 'binding'

export function notFound(kind: Kind, id: string, field?: string): ControlError {
  const options = field === undefined ? {} : { field }
  return new ControlError('GW_CTL_NOT_FOUND', `${kind} ${id} not found`, options)
}

/** Returns the record or throws `GW_CTL_NOT_FOUND`, naming `field` when the id came from input. */
export function mustGet<T>(map: Record<string, T>, kind: Kind, id: string, field?: string): T {
  const record = Object.hasOwn(map, id) ? map[id] : undefined
  if (record === undefined) throw notFound(kind, id, field)
  return record
}

export function checkNew(map: Record<string, unknown>, kind: Kind, id: string): void {
  if (Object.hasOwn(map, id)) {
    throw new ControlError('GW_CTL_ALREADY_EXISTS', `${kind} ${id} already exists`, { field: 'id' })
  }
}

/** Rejects a write based on a version other than the stored one. */
export function checkVersion(record: Versioned, kind: Kind, id: string, expected?: number): void {
  if (expected === undefined || expected === record.version) return
  throw new ControlError(
    'GW_CTL_CONFLICT',
    `${kind} ${id} is at version ${record.version}, not ${expected}; read it again and retry`,
    { field: 'version' },
  )
}

export function checkClusterQuota(state: ControlState, accountId: string, quotas: ControlQuotas): void {
  const owned = Object.values(state.clusters).filter((c) => c.accountId === accountId).length
  if (owned < quotas.clustersPerAccount) return
  throw new ControlError(
    'GW_CTL_CLUSTER_QUOTA_EXCEEDED',
    `account ${accountId} already has ${owned} clusters (quota ${quotas.clustersPerAccount}); ` +
      'delete a cluster or raise control.quotas.clustersPerAccount',
    { field: 'accountId' },
  )
}

/** Checks that the account and region exist and that the region offers every zone. */
export function checkClusterPlacement(state: ControlState, cluster: Cluster): void {
  mustGet(state.accounts, 'account', cluster.accountId, 'accountId')
  const region = mustGet(state.regions, 'region', cluster.regionId, 'regionId')
  cluster.zones.forEach((zone, i) => {
    if (region.zones.includes(zone)) return
    throw new ControlError(
      'GW_CTL_CLUSTER_ZONE_UNKNOWN',
      `zone ${zone} is not in region ${region.id} (zones: ${region.zones.join(', ')})`,
      { field: `zones[${i}]` },
    )
  })
}

/** Rejects dropping a zone from a cluster while one of its nodes runs there. */
export function checkClusterZonesInUse(state: ControlState, cluster: Cluster): void {
  const stranded = nodesOf(state, cluster.id).filter((n) => !cluster.zones.includes(n.zoneId))
  if (stranded.length === 0) return
  const list = stranded.map((n) => `${n.id} in ${n.zoneId}`).join(', ')
  throw new ControlError(
    'GW_CTL_IN_USE',
    `cluster ${cluster.id} still has nodes in the removed zones (${list}); remove those nodes first`,
    { field: 'zones' },
  )
}

/**
 * Checks a node against its cluster: same account, region and VPC, a zone of the cluster, an
 * elastic IP for attached instances, pay-as-you-go billing for expanded ones, and the worker
 * quota. On an update `node` is already stored, and it is not counted against itself.
 */
export function checkNode(
  state: ControlState,
  cluster: Cluster,
  node: ClusterNode,
  quotas: ControlQuotas,
): void {
  checkNodeMatches(cluster, node)

  if (node.joinedBy === 'attach' && !node.hasElasticIp) {
    throw new ControlError(
      'GW_CTL_NODE_NO_ELASTIC_IP',
      `instance ${node.id} has no elastic IP; bind an elastic IP to it before attaching it to cluster ${cluster.id}`,
      { field: 'hasElasticIp' },
    )
  }
  if (node.joinedBy === 'expand' && node.billing !== 'pay-as-you-go') {
    throw new ControlError(
      'GW_CTL_NODE_BILLING_INVALID',
      `node ${node.id} expands cluster ${cluster.id} with billing ${node.billing}; ` +
        "nodes created by expanding a cluster must be 'pay-as-you-go'",
      { field: 'billing' },
    )
  }
  if (node.role === 'worker') checkWorkerQuota(state, cluster, node.id, quotas)
}

function checkNodeMatches(cluster: Cluster, node: ClusterNode): void {
  const pairs = [
    ['accountId', 'account', 'GW_CTL_NODE_ACCOUNT_MISMATCH'],
    ['regionId', 'region', 'GW_CTL_NODE_REGION_MISMATCH'],
    ['vpcId', 'VPC', 'GW_CTL_NODE_VPC_MISMATCH'],
  ] as const
  for (const [field, label, code] of pairs) {
    if (node[field] === cluster[field]) continue
    throw new ControlError(
      code,
      `instance ${node.id} is in ${label} ${node[field]} but cluster ${cluster.id} is in ${label} ` +
        `${cluster[field]}; only instances in the cluster's ${label} can join it`,
      { field },
    )
  }
  if (!cluster.zones.includes(node.zoneId)) {
    throw new ControlError(
      'GW_CTL_NODE_ZONE_MISMATCH',
      `zone ${node.zoneId} is not a zone of cluster ${cluster.id} (zones: ${cluster.zones.join(', ')})`,
      { field: 'zoneId' },
    )
  }
}

function checkWorkerQuota(
  state: ControlState,
  cluster: Cluster,
  nodeId: string,
  quotas: ControlQuotas,
): void {
  const others = nodesOf(state, cluster.id).filter((n) => n.role === 'worker' && n.id !== nodeId)
  const workers = others.length
  if (workers < quotas.workerNodesPerCluster) return
  throw new ControlError(
    'GW_CTL_NODE_QUOTA_EXCEEDED',
    `cluster ${cluster.id} already has ${workers} worker nodes (quota ${quotas.workerNodesPerCluster}); ` +
      'remove a worker or raise control.quotas.workerNodesPerCluster',
    { field: 'clusterId' },
  )
}

/** Rejects a service port that another service of the same cluster already uses. */
export function checkServicePorts(state: ControlState, service: Service): void {
  const others = Object.values(state.services).filter(
    (s) => s.clusterId === service.clusterId && s.name !== service.name,
  )
  service.ports.forEach((port, i) => {
    const owner = others.find((s) => s.ports.some((p) => p.port === port.port))
    if (owner === undefined) return
    throw new ControlError(
      'GW_CTL_SERVICE_PORT_IN_USE',
      `port ${port.port} is already used by service ${owner.name} of cluster ${service.clusterId}`,
      { field: `ports[${i}].port` },
    )
  })
}

/**
 * Checks that `slb` may serve `cluster`: same region and account, an address type the cluster's
 * network type allows, and neither side bound elsewhere. Rebinding the same pair is allowed.
 */
export function checkBinding(state: ControlState, slb: SlbInstance, cluster: Cluster): void {
  if (slb.regionId !== cluster.regionId) {
    throw new ControlError(
      'GW_CTL_SLB_REGION_MISMATCH',
      `SLB ${slb.id} is in region ${slb.regionId} but cluster ${cluster.id} is in region ${cluster.regionId}; ` +
        'bind an SLB of the same region',
      { field: 'clusterId' },
    )
  }
  if (slb.accountId !== cluster.accountId) {
    throw new ControlError(
      'GW_CTL_SLB_ACCOUNT_MISMATCH',
      `SLB ${slb.id} belongs to account ${slb.accountId} but cluster ${cluster.id} belongs to account ` +
        `${cluster.accountId}; bind an SLB of the same account`,
      { field: 'clusterId' },
    )
  }
  checkAddressType(slb, cluster)
  checkNotBoundElsewhere(state, slb, cluster)
}

/** Rejects an SLB whose address type the cluster's network type does not allow. */
export function checkAddressType(slb: SlbInstance, cluster: Cluster): void {
  const allowed = BINDABLE_ADDRESS_TYPES[cluster.networkType] ?? []
  if (allowed.includes(slb.addressType)) return
  throw new ControlError(
    'GW_CTL_SLB_ADDRESS_TYPE_INVALID',
    `SLB ${slb.id} has address type ${slb.addressType}, but a ${cluster.networkType} cluster accepts ` +
      `${allowed.join(' or ') || 'none'}`,
    { field: 'addressType' },
  )
}

function checkNotBoundElsewhere(state: ControlState, slb: SlbInstance, cluster: Cluster): void {
  const current = state.bindings[slb.id]
  if (current !== undefined && current.clusterId !== cluster.id) {
    throw new ControlError(
      'GW_CTL_SLB_ALREADY_BOUND',
      `SLB ${slb.id} is already bound to cluster ${current.clusterId}; unbind it first`,
      { field: 'slbId' },
    )
  }
  const other = Object.values(state.bindings).find((b) => b.clusterId === cluster.id && b.slbId !== slb.id)
  if (other !== undefined) {
    throw new ControlError(
      'GW_CTL_CLUSTER_ALREADY_BOUND',
      `cluster ${cluster.id} is already bound to SLB ${other.slbId}; unbind SLB ${other.slbId} first`,
      { field: 'clusterId' },
    )
  }
}

/** Rejects deleting a cluster that still has nodes or a binding. Its services go with it. */
export function checkClusterDeletable(state: ControlState, clusterId: string): void {
  const nodes = nodesOf(state, clusterId).map((n) => n.id)
  const binding = Object.values(state.bindings).find((b) => b.clusterId === clusterId)
  if (nodes.length === 0 && binding === undefined) return

  const blockers: string[] = []
  if (nodes.length > 0) blockers.push(`remove its ${nodes.length} node(s) (${nodes.join(', ')})`)
  if (binding !== undefined) blockers.push(`unbind SLB ${binding.slbId}`)
  throw new ControlError(
    'GW_CTL_CLUSTER_NOT_EMPTY',
    `cluster ${clusterId} cannot be deleted yet; first ${blockers.join(' and ')}`,
  )
}

export function checkSlbDeletable(state: ControlState, slbId: string): void {
  const binding = state.bindings[slbId]
  if (binding === undefined) return
  throw new ControlError(
    'GW_CTL_SLB_BOUND',
    `SLB ${slbId} is bound to cluster ${binding.clusterId}; unbind it first`,
  )
}

/** Rejects deleting an account or a region that clusters or SLB instances still reference. */
export function checkOwnerDeletable(state: ControlState, kind: 'account' | 'region', id: string): void {
  const key = kind === 'account' ? 'accountId' : 'regionId'
  const clusters = Object.values(state.clusters).filter((c) => c[key] === id).map((c) => c.id)
  const slbs = Object.values(state.slbs).filter((s) => s[key] === id).map((s) => s.id)
  if (clusters.length === 0 && slbs.length === 0) return

  const users: string[] = []
  if (clusters.length > 0) users.push(`clusters ${clusters.join(', ')}`)
  if (slbs.length > 0) users.push(`SLB instances ${slbs.join(', ')}`)
  const message = `${kind} ${id} is still used by ${users.join(' and ')}; delete them first`
  throw new ControlError('GW_CTL_IN_USE', message)
}

export function nodesOf(state: ControlState, clusterId: string): ClusterNode[] {
  return Object.values(state.nodes).filter((n) => n.clusterId === clusterId)
}
