import type { Logger } from 'pino'
import { ControlError, isControlError } from './errors.js'
import {
  cloneState,
  findBoundCluster,
  type Account,
  type Binding,
  type BoundCluster,
  type Cluster,
  type ClusterNode,
  type ControlState,
  type Region,
  type Service,
  type SlbInstance,
  type StateSnapshot,
} from './model.js'
import * as mutations from './mutations.js'
import type { WriteOptions } from './mutations.js'
import { DEFAULT_QUOTAS, mustGet, type ControlQuotas } from './rules.js'
import type { ControlStore } from './store.js'
import { checkId } from './validate.js'

export type { WriteOptions } from './mutations.js'

/** Returned by a transition that found nothing to change, so nothing is written. */
const UNCHANGED = Symbol('unchanged')

export interface ControlServiceOptions {
  store: ControlStore
  quotas?: Partial<ControlQuotas>
  /** Attempts per write when the store reports a concurrent write. Default 5. */
  maxWriteAttempts?: number
  log?: Logger
}

/** A new state, written here (`local`) or by another replica and seen through the store (`remote`). */
export interface ControlChange {
  origin: 'local' | 'remote'
  revision: number
  /** Deep-frozen, so a listener cannot change what other readers see. */
  state: ControlState
}

export type ChangeListener = (change: ControlChange) => void

export interface ClusterFilter {
  accountId?: string
  regionId?: string
}

/**
 * Applies control-plane writes atomically against a store and notifies listeners of each new
 * state. Independent of HTTP: an admin API maps `ControlError.status` to its response.
 *
 * Reads are synchronous and come from the last state this service wrote or observed, so call
 * `start()` first. A write validates and checks every rule against that state, then writes with
 * compare-and-swap. When another writer came first, it reloads and runs the same checks again on
 * the fresh state, up to `maxWriteAttempts` times. A rule that fails on the fresh state throws
 * its own error, and running out of attempts throws `GW_CTL_CONFLICT`.
 */
export class ControlService {
  readonly quotas: Readonly<ControlQuotas>
  readonly #store: ControlStore
  readonly #maxAttempts: number
  readonly #log: Logger | undefined
  readonly #listeners = new Set<ChangeListener>()
  #snapshot: StateSnapshot | undefined
  #writes: Promise<unknown> = Promise.resolve()
  #stopWatch: (() => void) | undefined

  constructor(options: ControlServiceOptions) {
    this.#store = options.store
    this.quotas = Object.freeze({ ...DEFAULT_QUOTAS, ...options.quotas })
    this.#maxAttempts = Math.max(1, options.maxWriteAttempts ?? 5)
    this.#log = options.log
  }

  /** Loads the state and, when the store supports it, follows writes of other replicas. */
  async start(): Promise<void> {
    this.#accept(await this.#store.load(), 'remote', true)
    this.#stopWatch = this.#store.watch?.((snapshot) => this.#accept(snapshot, 'remote', false))
  }

  /** Stops following the store and waits for writes in progress. Does not close the store. */
  async close(): Promise<void> {
    this.#stopWatch?.()
    this.#stopWatch = undefined
    await this.#writes
  }

  /** Reloads the state from the store, for a caller that must see other replicas' writes now. */
  async refresh(): Promise<void> {
    this.#accept(await this.#store.load(), 'remote', true)
  }

  get revision(): number {
    return this.#state().revision
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Returns the cluster bound to `slbId` with its services, or undefined when it is unbound. */
  boundCluster(slbId: string): BoundCluster | undefined {
    return findBoundCluster(this.#state().state, slbId)
  }

  /**
   * Calls `listener` now and after every change that alters what `slbId` serves: the binding,
   * the bound cluster or its services. Returns a function that stops the calls.
   */
  watchBoundCluster(slbId: string, listener: (bound: BoundCluster | undefined) => void): () => void {
    let last = JSON.stringify(this.boundCluster(slbId) ?? null)
    listener(this.boundCluster(slbId))
    return this.onChange((change) => {
      const bound = findBoundCluster(change.state, slbId)
      const json = JSON.stringify(bound ?? null)
      if (json === last) return
      last = json
      listener(bound)
    })
  }

  createAccount(input: unknown): Promise<Account> {
    return this.#mutate((d) => mutations.createAccount(d, input))
  }

  getAccount(id: string): Account {
    return mustGet(this.#state().state.accounts, 'account', checkId(id, 'id'))
  }

  listAccounts(): Account[] {
    return sortById(Object.values(this.#state().state.accounts))
  }

  deleteAccount(id: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.deleteAccount(d, id, options))
  }

  createRegion(input: unknown): Promise<Region> {
    return this.#mutate((d) => mutations.createRegion(d, input))
  }

  getRegion(id: string): Region {
    return mustGet(this.#state().state.regions, 'region', checkId(id, 'id'))
  }

  listRegions(): Region[] {
    return sortById(Object.values(this.#state().state.regions))
  }

  deleteRegion(id: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.deleteRegion(d, id, options))
  }

  createCluster(input: unknown): Promise<Cluster> {
    return this.#mutate((d) => mutations.createCluster(d, input, this.quotas))
  }

  getCluster(id: string): Cluster {
    return mustGet(this.#state().state.clusters, 'cluster', checkId(id, 'id'))
  }

  listClusters(filter: ClusterFilter = {}): Cluster[] {
    const clusters = Object.values(this.#state().state.clusters).filter(
      (c) =>
        (filter.accountId === undefined || c.accountId === filter.accountId) &&
        (filter.regionId === undefined || c.regionId === filter.regionId),
    )
    return sortById(clusters)
  }

  /** Changes `name`, `zones` or `consul` (null removes the mapping). Other fields are fixed. */
  updateCluster(id: string, patch: unknown, options: WriteOptions = {}): Promise<Cluster> {
    return this.#mutate((d) => mutations.updateCluster(d, id, patch, options))
  }

  /**
   * Deletes a cluster and its services. Fails with `GW_CTL_CLUSTER_NOT_EMPTY` while it has nodes
   * or a binding.
   */
  deleteCluster(id: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.deleteCluster(d, id, options))
  }

  addNode(input: unknown): Promise<ClusterNode> {
    return this.#mutate((d) => mutations.addNode(d, input, this.quotas))
  }

  getNode(id: string): ClusterNode {
    return mustGet(this.#state().state.nodes, 'node', checkId(id, 'id'))
  }

  listNodes(clusterId?: string): ClusterNode[] {
    const nodes = Object.values(this.#state().state.nodes)
    return sortById(clusterId === undefined ? nodes : nodes.filter((n) => n.clusterId === clusterId))
  }

  /** Changes `role`, `billing`, `hasElasticIp` or `zoneId`, and checks the node rules again. */
  updateNode(id: string, patch: unknown, options: WriteOptions = {}): Promise<ClusterNode> {
    return this.#mutate((d) => mutations.updateNode(d, id, patch, options, this.quotas))
  }

  removeNode(id: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.removeNode(d, id, options))
  }

  createService(input: unknown): Promise<Service> {
    return this.#mutate((d) => mutations.createService(d, input))
  }

  getService(clusterId: string, name: string): Service {
    return mutations.getService(this.#state().state, clusterId, name)
  }

  listServices(clusterId?: string): Service[] {
    const services = Object.values(this.#state().state.services).filter(
      (s) => clusterId === undefined || s.clusterId === clusterId,
    )
    return services.sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.name.localeCompare(b.name))
  }

  /** Changes `ports` or `source`. */
  updateService(
    clusterId: string,
    name: string,
    patch: unknown,
    options: WriteOptions = {},
  ): Promise<Service> {
    return this.#mutate((d) => mutations.updateService(d, clusterId, name, patch, options))
  }

  deleteService(clusterId: string, name: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.deleteService(d, clusterId, name, options))
  }

  createSlb(input: unknown): Promise<SlbInstance> {
    return this.#mutate((d) => mutations.createSlb(d, input))
  }

  getSlb(id: string): SlbInstance {
    return mustGet(this.#state().state.slbs, 'SLB', checkId(id, 'id'))
  }

  listSlbs(): SlbInstance[] {
    return sortById(Object.values(this.#state().state.slbs))
  }

  /** Changes `addressType`, which must still suit the bound cluster if there is one. */
  updateSlb(id: string, patch: unknown, options: WriteOptions = {}): Promise<SlbInstance> {
    return this.#mutate((d) => mutations.updateSlb(d, id, patch, options))
  }

  /** Deletes an SLB instance. Fails with `GW_CTL_SLB_BOUND` while it is bound. */
  deleteSlb(id: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.deleteSlb(d, id, options))
  }

  /** Binds an SLB to a cluster. Binding a pair that is already bound returns the existing binding. */
  async bind(slbId: string, clusterId: string): Promise<Binding> {
    const created = await this.#mutate((d) => mutations.bind(d, slbId, clusterId) ?? UNCHANGED)
    return created === UNCHANGED ? mustGet(this.#state().state.bindings, 'binding', slbId) : created
  }

  unbind(slbId: string, options: WriteOptions = {}): Promise<void> {
    return this.#mutate((d) => mutations.unbind(d, slbId, options))
  }

  getBinding(slbId: string): Binding {
    return mustGet(this.#state().state.bindings, 'binding', checkId(slbId, 'slbId'))
  }

  listBindings(): Binding[] {
    return Object.values(this.#state().state.bindings).sort((a, b) => a.slbId.localeCompare(b.slbId))
  }

  #state(): StateSnapshot {
    if (this.#snapshot === undefined) {
      throw new Error('ControlService used before start() resolved')
    }
    return this.#snapshot
  }

  /**
   * Runs `apply` on a copy of the state and writes the copy. Writes of this service run one at
   * a time. When `apply` returns UNCHANGED, nothing is written.
   */
  #mutate<T>(apply: (draft: ControlState) => T): Promise<T> {
    const run = this.#writes.then(() => this.#writeWithRetry(apply))
    this.#writes = run.catch(() => undefined)
    return run
  }

  async #writeWithRetry<T>(apply: (draft: ControlState) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const base = this.#state()
      const draft = cloneState(base.state)
      const result = apply(draft)
      if (result === UNCHANGED) return result

      try {
        this.#accept(await this.#store.write(draft, base.revision), 'local', true)
        return result
      } catch (err) {
        if (!isControlError(err, 'GW_CTL_CONFLICT')) throw err
        this.#log?.debug({ attempt, revision: base.revision }, 'control write lost a race; reloading')
        this.#accept(await this.#store.load(), 'remote', true)
        if (attempt >= this.#maxAttempts) {
          throw new ControlError(
            'GW_CTL_CONFLICT',
            `control state kept changing during ${attempt} write attempts; retry the request`,
            { cause: err },
          )
        }
      }
    }
  }

  /** Installs a new state and notifies listeners. A watch result older than the current state is ignored. */
  #accept(snapshot: StateSnapshot, origin: ControlChange['origin'], authoritative: boolean): void {
    const current = this.#snapshot
    if (current !== undefined && snapshot.revision === current.revision) return
    if (current !== undefined && !authoritative && snapshot.revision < current.revision) return

    const state = deepFreeze(snapshot.state)
    this.#snapshot = { state, revision: snapshot.revision }
    this.#log?.info({ revision: snapshot.revision, origin }, 'control state changed')
    for (const listener of this.#listeners) {
      try {
        listener({ origin, revision: snapshot.revision, state })
      } catch (err) {
        this.#log?.error({ err }, 'control change listener failed')
      }
    }
  }
}

function sortById<T extends { id: string }>(records: T[]): T[] {
  return records.sort((a, b) => a.id.localeCompare(b.id))
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
