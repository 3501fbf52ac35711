/**
 * Records of the control plane: who owns what, where it runs, and which SLB serves which cluster.
 * Every record carries `version`, which starts at 1 and grows by one on every write to it, so
 * an update can name the version it read and lose cleanly if another write came first.
 */

export type NetworkType = 'vpc'
export type Billing = 'pay-as-you-go' | 'subscription'
export type NodeRole = 'worker' | 'master'
/** `expand`: the instance was created by expanding the cluster. `attach`: an existing instance. */
export type NodeJoin = 'expand' | 'attach'
export type AddressType = 'internet' | 'intranet'
export type PortProtocol = 'tcp' | 'http'

export interface Versioned {
  version: number
}

export interface Account extends Versioned {
  id: string
  name: string
}

export interface Region extends Versioned {
  id: string
  /** Availability zones a cluster in this region may use. */
  zones: string[]
}

/** The Consul datacenter and tags whose service instances belong to a cluster. */
export interface ConsulMapping {
  datacenter?: string
  tags?: string[]
}

export interface Cluster extends Versioned {
  id: string
  name: string
  accountId: string
  regionId: string
  networkType: NetworkType
  vpcId: string
  zones: string[]
  consul?: ConsulMapping
}

export interface ClusterNode extends Versioned {
  /** Cloud instance id. An instance belongs to at most one cluster. */
  id: string
  clusterId: string
  accountId: string
  regionId: string
  vpcId: string
  zoneId: string
  hasElasticIp: boolean
  billing: Billing
  role: NodeRole
  joinedBy: NodeJoin
}

export interface StaticEndpoint {
  host: string
  port: number
  /** Relative share of traffic; 0 drains the endpoint. */
  weight: number
}

export type ServiceSource =
  | { kind: 'consul'; service: string; tags?: string[] }
  | { kind: 'static'; endpoints: StaticEndpoint[] }

export interface ServicePort {
  name: string
  /** Port the bound SLB listens on for this service. Unique within a cluster. */
  port: number
  protocol: PortProtocol
}

/** A named workload of a cluster. The name is unique within its cluster. */
export interface Service extends Versioned {
  clusterId: string
  name: string
  ports: ServicePort[]
  source: ServiceSource
}

export interface SlbInstance extends Versioned {
  id: string
  accountId: string
  regionId: string
  addressType: AddressType
  networkType: NetworkType
}

/** Binds one SLB to one cluster. Keyed by `slbId`. */
export interface Binding extends Versioned {
  slbId: string
  clusterId: string
}

/** The whole control state. Maps are keyed by record id; services by `clusterId/name`. */
export interface ControlState {
  accounts: Record<string, Account>
  regions: Record<string, Region>
  clusters: Record<string, Cluster>
  nodes: Record<string, ClusterNode>
  services: Record<string, Service>
  slbs: Record<string, SlbInstance>
  bindings: Record<string, Binding>
}

/** State read from a store, with the store revision it was read at. */
export interface StateSnapshot {
  state: ControlState
  /** Opaque to callers except for equality; 0 means nothing was ever written. */
  revision: number
}

/** The bound cluster of one SLB with its services: the input of that SLB's data plane. */
export interface BoundCluster {
  slbId: string
  cluster: Cluster
  services: Service[]
}

export const STATE_SECTIONS = [
  'accounts',
  'regions',
  'clusters',
  'nodes',
  'services',
  'slbs',
  'bindings',
] as const satisfies readonly (keyof ControlState)[]

export function emptyState(): ControlState {
  return {
    accounts: {},
    regions: {},
    clusters: {},
    nodes: {},
    services: {},
    slbs: {},
    bindings: {},
  }
}

export function serviceKey(clusterId: string, name: string): string {
  return `${clusterId}/${name}`
}

/** Returns the cluster bound to `slbId` and its services sorted by name, or undefined. */
export function findBoundCluster(state: ControlState, slbId: string): BoundCluster | undefined {
  const binding = state.bindings[slbId]
  if (binding === undefined) return undefined

  const cluster = state.clusters[binding.clusterId]
  if (cluster === undefined) return undefined

  const services = Object.values(state.services)
    .filter((s) => s.clusterId === cluster.id)
    .sort((a, b) => a.name.localeCompare(b.name))
  return { slbId, cluster, services }
}

/** Deep-clones a state through JSON, which every record type round-trips without loss. */
export function cloneState(state: ControlState): ControlState {
  return JSON.parse(JSON.stringify(state)) as ControlState
}
