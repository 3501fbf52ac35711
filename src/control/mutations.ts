import { ControlError } from './errors.js'
import {
  serviceKey,
  type Account,
  type Binding,
  type Cluster,
  type ClusterNode,
  type ControlState,
  type Region,
  type Service,
  type SlbInstance,
} from './model.js'
import {
  checkAddressType,
  checkBinding,
  checkClusterDeletable,
  checkClusterPlacement,
  checkClusterQuota,
  checkClusterZonesInUse,
  checkNew,
  checkNode,
  checkOwnerDeletable,
  checkServicePorts,
  checkSlbDeletable,
  checkVersion,
  mustGet,
  type ControlQuotas,
} from './rules.js'
import {
  checkId,
  checkPatchFields,
  parseAccount,
  parseCluster,
  parseNode,
  parseRegion,
  parseService,
  parseSlb,
} from './validate.js'

/**
 * Pure state transitions. Each validates its input, applies every rule to `draft`, changes
 * `draft` in place and returns the written record. A rule violation throws before any change.
 */

export interface WriteOptions {
  /** Version the caller read. The write fails with `GW_CTL_CONFLICT` when the record moved on. */
  expectedVersion?: number
}

export const MUTABLE_FIELDS = Object.freeze({
  cluster: ['name', 'zones', 'consul'],
  node: ['role', 'billing', 'hasElasticIp', 'zoneId'],
  service: ['ports', 'source'],
  slb: ['addressType'],
} as const)

export function createAccount(draft: ControlState, raw: unknown): Account {
  const input = parseAccount(raw)
  checkNew(draft.accounts, 'account', input.id)
  return (draft.accounts[input.id] = { ...input, version: 1 })
}

export function deleteAccount(draft: ControlState, id: string, options: WriteOptions): void {
  const account = mustGet(draft.accounts, 'account', checkId(id, 'id'))
  checkVersion(account, 'account', id, options.expectedVersion)
  checkOwnerDeletable(draft, 'account', id)
  delete draft.accounts[id]
}

export function createRegion(draft: ControlState, raw: unknown): Region {
  const input = parseRegion(raw)
  checkNew(draft.regions, 'region', input.id)
  return (draft.regions[input.id] = { ...input, version: 1 })
}

export function deleteRegion(draft: ControlState, id: string, options: WriteOptions): void {
  const region = mustGet(draft.regions, 'region', checkId(id, 'id'))
  checkVersion(region, 'region', id, options.expectedVersion)
  checkOwnerDeletable(draft, 'region', id)
  delete draft.regions[id]
}

export function createCluster(draft: ControlState, raw: unknown, quotas: ControlQuotas): Cluster {
  const cluster: Cluster = { ...parseCluster(raw), version: 1 }
  checkNew(draft.clusters, 'cluster', cluster.id)
  checkClusterPlacement(draft, cluster)
  checkClusterQuota(draft, cluster.accountId, quotas)
  return (draft.clusters[cluster.id] = cluster)
}

export function updateCluster(draft: ControlState, id: string, raw: unknown, options: WriteOptions): Cluster {
  const current = mustGet(draft.clusters, 'cluster', checkId(id, 'id'))
  checkVersion(current, 'cluster', id, options.expectedVersion)
  const patch = checkPatchFields('cluster', raw, MUTABLE_FIELDS.cluster)

  const merged: Record<string, unknown> = { ...withoutVersion(current), ...patch }
  // A null `consul` in a patch removes the mapping.
  if (patch.consul === null) delete merged.consul
  const cluster: Cluster = { ...parseCluster(merged), version: current.version + 1 }
  checkClusterPlacement(draft, cluster)
  checkClusterZonesInUse(draft, cluster)
  return (draft.clusters[id] = cluster)
}

/** Deletes a cluster without nodes or binding, together with its services. */
export function deleteCluster(draft: ControlState, id: string, options: WriteOptions): void {
  const cluster = mustGet(draft.clusters, 'cluster', checkId(id, 'id'))
  checkVersion(cluster, 'cluster', id, options.expectedVersion)
  checkClusterDeletable(draft, id)
  for (const [key, service] of Object.entries(draft.services)) {
    if (service.clusterId === id) delete draft.services[key]
  }
  delete draft.clusters[id]
}

export function addNode(draft: ControlState, raw: unknown, quotas: ControlQuotas): ClusterNode {
  const input = parseNode(raw)
  checkNew(draft.nodes, 'node', input.id)
  const cluster = mustGet(draft.clusters, 'cluster', input.clusterId, 'clusterId')
  const node: ClusterNode = {
    ...input,
    // An expanded node is created by the cluster, so it lands in the cluster's account, region and VPC.
    accountId: input.accountId ?? cluster.accountId,
    regionId: input.regionId ?? cluster.regionId,
    vpcId: input.vpcId ?? cluster.vpcId,
    version: 1,
  }
  checkNode(draft, cluster, node, quotas)
  return (draft.nodes[node.id] = node)
}

export function updateNode(
  draft: ControlState,
  id: string,
  raw: unknown,
  options: WriteOptions,
  quotas: ControlQuotas,
): ClusterNode {
  const current = mustGet(draft.nodes, 'node', checkId(id, 'id'))
  checkVersion(current, 'node', id, options.expectedVersion)
  const patch = checkPatchFields('node', raw, MUTABLE_FIELDS.node)

  const input = parseNode({ ...withoutVersion(current), ...patch })
  const node: ClusterNode = { ...current, ...input, version: current.version + 1 }
  checkNode(draft, mustGet(draft.clusters, 'cluster', node.clusterId), node, quotas)
  return (draft.nodes[id] = node)
}

export function removeNode(draft: ControlState, id: string, options: WriteOptions): void {
  const node = mustGet(draft.nodes, 'node', checkId(id, 'id'))
  checkVersion(node, 'node', id, options.expectedVersion)
  delete draft.nodes[id]
}

export function createService(draft: ControlState, raw: unknown): Service {
  const service: Service = { ...parseService(raw), version: 1 }
  mustGet(draft.clusters, 'cluster', service.clusterId, 'clusterId')
  const key = serviceKey(service.clusterId, service.name)
  if (Object.hasOwn(draft.services, key)) {
    throw new ControlError(
      'GW_CTL_ALREADY_EXISTS',
      `service ${service.name} already exists in cluster ${service.clusterId}`,
      { field: 'name' },
    )
  }
  checkServicePorts(draft, service)
  return (draft.services[key] = service)
}

export function updateService(
  draft: ControlState,
  clusterId: string,
  name: string,
  raw: unknown,
  options: WriteOptions,
): Service {
  const current = getService(draft, clusterId, name)
  checkVersion(current, 'service', `${clusterId}/${name}`, options.expectedVersion)
  const patch = checkPatchFields('service', raw, MUTABLE_FIELDS.service)

  const input = parseService({ ...withoutVersion(current), ...patch })
  const service: Service = { ...input, version: current.version + 1 }
  checkServicePorts(draft, service)
  return (draft.services[serviceKey(clusterId, name)] = service)
}

export function deleteService(
  draft: ControlState,
  clusterId: string,
  name: string,
  options: WriteOptions,
): void {
  const current = getService(draft, clusterId, name)
  checkVersion(current, 'service', `${clusterId}/${name}`, options.expectedVersion)
  delete draft.services[serviceKey(clusterId, name)]
}

export function getService(state: ControlState, clusterId: string, name: string): Service {
  mustGet(state.clusters, 'cluster', checkId(clusterId, 'clusterId'))
  return mustGet(state.services, 'service', serviceKey(clusterId, checkId(name, 'name')))
}

export function createSlb(draft: ControlState, raw: unknown): SlbInstance {
  const slb: SlbInstance = { ...parseSlb(raw), version: 1 }
  checkNew(draft.slbs, 'SLB', slb.id)
  mustGet(draft.accounts, 'account', slb.accountId, 'accountId')
  mustGet(draft.regions, 'region', slb.regionId, 'regionId')
  return (draft.slbs[slb.id] = slb)
}

export function updateSlb(draft: ControlState, id: string, raw: unknown, options: WriteOptions): SlbInstance {
  const current = mustGet(draft.slbs, 'SLB', checkId(id, 'id'))
  checkVersion(current, 'SLB', id, options.expectedVersion)
  const patch = checkPatchFields('SLB instance', raw, MUTABLE_FIELDS.slb)

  const input = parseSlb({ ...withoutVersion(current), ...patch })
  const slb: SlbInstance = { ...input, version: current.version + 1 }
  const binding = draft.bindings[id]
  if (binding !== undefined) checkAddressType(slb, mustGet(draft.clusters, 'cluster', binding.clusterId))
  return (draft.slbs[id] = slb)
}

export function deleteSlb(draft: ControlState, id: string, options: WriteOptions): void {
  const slb = mustGet(draft.slbs, 'SLB', checkId(id, 'id'))
  checkVersion(slb, 'SLB', id, options.expectedVersion)
  checkSlbDeletable(draft, id)
  delete draft.slbs[id]
}

/**
 * Binds `slbId` to `clusterId`. Returns undefined when that exact binding already exists, so
 * the caller can skip the write.
 */
export function bind(draft: ControlState, slbId: string, clusterId: string): Binding | undefined {
  const slb = mustGet(draft.slbs, 'SLB', checkId(slbId, 'slbId'), 'slbId')
  const cluster = mustGet(draft.clusters, 'cluster', checkId(clusterId, 'clusterId'), 'clusterId')
  checkBinding(draft, slb, cluster)
  if (draft.bindings[slbId]?.clusterId === clusterId) return undefined
  return (draft.bindings[slbId] = { slbId, clusterId, version: 1 })
}

export function unbind(draft: ControlState, slbId: string, options: WriteOptions): void {
  const binding = mustGet(draft.bindings, 'binding', checkId(slbId, 'slbId'), 'slbId')
  checkVersion(binding, 'binding', slbId, options.expectedVersion)
  delete draft.bindings[slbId]
}

function withoutVersion<T extends { version: number }>(record: T): Omit<T, 'version'> {
  const { version: _version, ...fields } = record
  return fields
}
