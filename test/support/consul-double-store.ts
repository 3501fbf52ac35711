import type { Clock } from './consul-double-util.js'

export type CheckStatus = 'passing' | 'warning' | 'critical'

export interface NodeRecord {
  id: string
  name: string
  address: string
  datacenter: string
  taggedAddresses: Record<string, string>
  meta: Record<string, string>
  createIndex: number
  modifyIndex: number
}

export interface ServiceRecord {
  node: string
  id: string
  name: string
  tags: string[]
  address: string
  port: number
  meta: Record<string, string> | null
  weights: { Passing: number; Warning: number }
  taggedAddresses: Record<string, { address: string; port: number }>
  enableTagOverride: boolean
  kind: string
  createIndex: number
  modifyIndex: number
}

export interface CheckRecord {
  node: string
  checkId: string
  name: string
  status: CheckStatus
  notes: string
  output: string
  serviceId: string
  type: string
  ttlMs?: number
  http?: string
  tcp?: string
  intervalMs?: number
  timeoutMs?: number
  deregisterAfterMs?: number
  /** Clock time at which a TTL check turns critical unless it is updated. */
  ttlDeadline?: number
  /** Clock time at which the check last turned critical. */
  criticalSince?: number
  createIndex: number
  modifyIndex: number
}

export type ServiceInput = Omit<ServiceRecord, 'createIndex' | 'modifyIndex'>
export type CheckInput = Omit<CheckRecord, 'createIndex' | 'modifyIndex' | 'ttlDeadline' | 'criticalSince'>

/** Consul's reaper removes services whose check stayed critical too long, on this period. */
export const REAPER_INTERVAL_MS = 30_000
const MIN_DEREGISTER_AFTER_MS = 60_000

export function serviceTopic(dc: string, name: string): string {
  return `service:${dc}:${name}`
}

export function servicesTopic(dc: string): string {
  return `services:${dc}`
}

/**
 * The catalog of the double: nodes, service instances and checks per datacenter, stamped with a
 * global raft-style index. Every write bumps the index of each topic it touches (a service name,
 * the service list, KV, sessions) and notifies the listeners, which wake blocked readers.
 */
export class CatalogStore {
  index = 1
  readonly #topicIndex = new Map<string, number>()
  readonly nodes = new Map<string, NodeRecord>()
  /** Service instances by `dc/node/id`; change them only through the store's methods. */
  readonly services = new Map<string, ServiceRecord>()
  /** Checks by `dc/node/checkId`; change them only through the store's methods. */
  readonly checks = new Map<string, CheckRecord>()
  readonly #servicesByNode = new Map<string, Map<string, ServiceRecord>>()
  readonly #servicesByName = new Map<string, Map<string, ServiceRecord>>()
  readonly #checksByNode = new Map<string, Map<string, CheckRecord>>()
  /** Checks by `dc/node/serviceId`; node-level checks sit under an empty service id. */
  readonly #checksByService = new Map<string, Map<string, CheckRecord>>()
  readonly #listeners = new Set<(topics: readonly string[]) => void>()
  readonly #pendingTopics = new Set<string>()
  readonly #criticalListeners = new Set<(dc: string, check: CheckRecord) => void>()
  #lastReapAt: number

  constructor(
    readonly clock: Clock,
    readonly datacenters: readonly string[],
  ) {
    this.#lastReapAt = clock.now()
  }

  onChange(listener: (topics: readonly string[]) => void): void {
    this.#listeners.add(listener)
  }

  onCheckCritical(listener: (dc: string, check: CheckRecord) => void): void {
    this.#criticalListeners.add(listener)
  }

  /**
   * Takes a new raft index and marks `topics` as modified at it. Readers of those topics wake on
   * a microtask, after the caller has finished its write.
   */
  commit(topics: readonly string[]): number {
    this.index += 1
    for (const topic of topics) this.#topicIndex.set(topic, this.index)
    this.wake(topics)
    return this.index
  }

  /** Index of one topic; topics never written report the global index, as Consul's tables do. */
  topicIndex(topic: string): number {
    return this.#topicIndex.get(topic) ?? this.index
  }

  /** Wakes readers of `topics` (on a microtask) without changing any index. */
  wake(topics: readonly string[]): void {
    const idle = this.#pendingTopics.size === 0
    for (const topic of topics) this.#pendingTopics.add(topic)
    if (idle && this.#pendingTopics.size > 0) queueMicrotask(() => this.#flush())
  }

  #flush(): void {
    const topics = [...this.#pendingTopics]
    this.#pendingTopics.clear()
    for (const listener of this.#listeners) listener(topics)
  }

  /** Lowers every index to at most `index`, as a snapshot restore does. */
  lowerIndex(index: number): void {
    this.index = Math.max(1, index)
    for (const [topic, value] of this.#topicIndex) {
      if (value > this.index) this.#topicIndex.set(topic, this.index)
    }
    const records: Array<{ createIndex: number; modifyIndex: number }> = [
      ...this.nodes.values(),
      ...this.services.values(),
      ...this.checks.values(),
    ]
    for (const record of records) {
      record.createIndex = Math.min(record.createIndex, this.index)
      record.modifyIndex = Math.min(record.modifyIndex, this.index)
    }
  }

  node(dc: string, name: string): NodeRecord | undefined {
    return this.nodes.get(`${dc}/${name}`)
  }

  service(dc: string, node: string, id: string): ServiceRecord | undefined {
    return this.services.get(`${dc}/${node}/${id}`)
  }

  check(dc: string, node: string, checkId: string): CheckRecord | undefined {
    return this.checks.get(`${dc}/${node}/${checkId}`)
  }

  servicesOnNode(dc: string, node: string): ServiceRecord[] {
    return [...(this.#servicesByNode.get(`${dc}/${node}`)?.values() ?? [])]
  }

  checksOnNode(dc: string, node: string): CheckRecord[] {
    return [...(this.#checksByNode.get(`${dc}/${node}`)?.values() ?? [])]
  }

  /** Checks that affect one instance: the node's own checks, then the instance's. */
  checksFor(dc: string, node: string, serviceId: string): CheckRecord[] {
    const nodeLevel = this.#checksByService.get(`${dc}/${node}/`)?.values() ?? []
    const own = this.#checksByService.get(`${dc}/${node}/${serviceId}`)?.values() ?? []
    return [...nodeLevel, ...own]
  }

  /** Returns every instance of a service name in a datacenter, in registration order. */
  instances(dc: string, name: string): ServiceRecord[] {
    return [...(this.#servicesByName.get(`${dc}/${name}`)?.values() ?? [])]
  }

  #putService(dc: string, svc: ServiceRecord): void {
    const key = `${dc}/${svc.node}/${svc.id}`
    const old = this.services.get(key)
    if (old) this.#servicesByName.get(`${dc}/${old.name}`)?.delete(key)
    this.services.set(key, svc)
    group(this.#servicesByNode, `${dc}/${svc.node}`).set(key, svc)
    group(this.#servicesByName, `${dc}/${svc.name}`).set(key, svc)
  }

  #dropService(dc: string, svc: ServiceRecord): void {
    const key = `${dc}/${svc.node}/${svc.id}`
    this.services.delete(key)
    this.#servicesByNode.get(`${dc}/${svc.node}`)?.delete(key)
    this.#servicesByName.get(`${dc}/${svc.name}`)?.delete(key)
  }

  #putCheck(dc: string, check: CheckRecord): void {
    const key = `${dc}/${check.node}/${check.checkId}`
    this.checks.set(key, check)
    group(this.#checksByNode, `${dc}/${check.node}`).set(key, check)
    group(this.#checksByService, `${dc}/${check.node}/${check.serviceId}`).set(key, check)
  }

  #dropCheck(dc: string, check: CheckRecord): void {
    const key = `${dc}/${check.node}/${check.checkId}`
    this.checks.delete(key)
    this.#checksByNode.get(`${dc}/${check.node}`)?.delete(key)
    this.#checksByService.get(`${dc}/${check.node}/${check.serviceId}`)?.delete(key)
  }

  /** Topics a change to one check touches: its service, or every service on a node-level check's node. */
  checkTopics(dc: string, check: CheckRecord): string[] {
    if (check.serviceId !== '') {
      const svc = this.service(dc, check.node, check.serviceId)
      return svc ? [serviceTopic(dc, svc.name)] : []
    }
    return this.servicesOnNode(dc, check.node).map((svc) => serviceTopic(dc, svc.name))
  }

  /** Adds or updates a node; a new node gets a passing `serfHealth` check. */
  upsertNode(dc: string, input: Omit<NodeRecord, 'createIndex' | 'modifyIndex' | 'datacenter'>): void {
    const existing = this.node(dc, input.name)
    const topics = [servicesTopic(dc), ...this.servicesOnNode(dc, input.name).map((s) => serviceTopic(dc, s.name))]
    const index = this.commit(topics)
    this.nodes.set(`${dc}/${input.name}`, {
      ...input,
      datacenter: dc,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    })
    if (!existing) {
      this.upsertCheck(dc, {
        node: input.name,
        checkId: 'serfHealth',
        name: 'Serf Health Status',
        status: 'passing',
        notes: '',
        output: 'Agent alive and reachable',
        serviceId: '',
        type: '',
      })
    }
  }

  /** Registers or replaces a service instance with its checks. */
  upsertService(dc: string, input: ServiceInput, checks: CheckInput[], replaceChecks: boolean): void {
    const existing = this.service(dc, input.node, input.id)
    const topics = [serviceTopic(dc, input.name), servicesTopic(dc)]
    if (existing && existing.name !== input.name) topics.push(serviceTopic(dc, existing.name))
    const index = this.commit(topics)
    this.#putService(dc, { ...input, createIndex: existing?.createIndex ?? index, modifyIndex: index })
    if (replaceChecks) {
      const keep = new Set(checks.map((c) => c.checkId))
      for (const check of this.checksOnNode(dc, input.node)) {
        if (check.serviceId === input.id && !keep.has(check.checkId)) this.removeCheck(dc, input.node, check.checkId)
      }
    }
    for (const check of checks) this.upsertCheck(dc, check)
  }

  removeService(dc: string, node: string, id: string): boolean {
    const svc = this.service(dc, node, id)
    if (!svc) return false
    this.#dropService(dc, svc)
    for (const check of this.checksOnNode(dc, node)) {
      if (check.serviceId === id) this.#dropCheck(dc, check)
    }
    // Deleting the last instance still bumps the service's index, or watchers never see it go.
    this.commit([serviceTopic(dc, svc.name), servicesTopic(dc)])
    return true
  }

  /** Adds or replaces a check; a re-registered check keeps its status unless one is given. */
  upsertCheck(dc: string, input: CheckInput, explicitStatus = true): void {
    const existing = this.check(dc, input.node, input.checkId)
    const status = !explicitStatus && existing ? existing.status : input.status
    const record: CheckRecord = {
      ...input,
      status,
      createIndex: existing?.createIndex ?? 0,
      modifyIndex: 0,
    }
    if (record.ttlMs !== undefined) record.ttlDeadline = this.clock.now() + record.ttlMs
    if (status === 'critical') record.criticalSince = existing?.criticalSince ?? this.clock.now()
    this.#putCheck(dc, record)
    const index = this.commit(this.checkTopics(dc, record))
    record.createIndex ||= index
    record.modifyIndex = index
    if (status === 'critical') this.#announceCritical(dc, record)
  }

  removeCheck(dc: string, node: string, checkId: string): boolean {
    const check = this.check(dc, node, checkId)
    if (!check) return false
    const topics = this.checkTopics(dc, check)
    this.#dropCheck(dc, check)
    this.commit(topics)
    return true
  }

  /**
   * Sets a check's status and output. The TTL clock restarts either way, but only a real change
   * bumps the index, because the agent syncs nothing when status and output stay the same.
   */
  updateCheck(dc: string, check: CheckRecord, status: CheckStatus, output: string | undefined): void {
    if (check.ttlMs !== undefined) check.ttlDeadline = this.clock.now() + check.ttlMs
    const nextOutput = output ?? check.output
    if (check.status === status && check.output === nextOutput) return
    if (status === 'critical' && check.status !== 'critical') check.criticalSince = this.clock.now()
    if (status !== 'critical') delete check.criticalSince
    check.status = status
    check.output = nextOutput
    check.modifyIndex = this.commit(this.checkTopics(dc, check))
    if (status === 'critical') this.#announceCritical(dc, check)
  }

  #announceCritical(dc: string, check: CheckRecord): void {
    for (const listener of this.#criticalListeners) listener(dc, check)
  }

  /** Runs what is due on the clock: TTL expiry, then the critical-service reaper on its period. */
  sweep(): void {
    const now = this.clock.now()
    for (const [key, check] of this.checks) {
      if (check.ttlDeadline === undefined || check.ttlDeadline > now || check.status === 'critical') continue
      const dc = key.slice(0, key.indexOf('/'))
      this.updateCheck(dc, check, 'critical', `TTL expired (last update ${check.output || 'never'})`)
    }
    while (now - this.#lastReapAt >= REAPER_INTERVAL_MS) {
      this.#lastReapAt += REAPER_INTERVAL_MS
      this.#reap(this.#lastReapAt)
    }
  }

  #reap(at: number): void {
    for (const [key, check] of [...this.checks]) {
      if (check.deregisterAfterMs === undefined || check.criticalSince === undefined) continue
      if (check.status !== 'critical' || check.serviceId === '') continue
      const threshold = Math.max(check.deregisterAfterMs, MIN_DEREGISTER_AFTER_MS)
      if (at - check.criticalSince <= threshold) continue
      const dc = key.slice(0, key.indexOf('/'))
      this.removeService(dc, check.node, check.serviceId)
    }
  }
}

function group<T>(index: Map<string, Map<string, T>>, key: string): Map<string, T> {
  let inner = index.get(key)
  if (!inner) index.set(key, (inner = new Map()))
  return inner
}
