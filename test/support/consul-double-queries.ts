import { compileFilter } from './consul-double-filter.js'
import {
  serviceTopic,
  servicesTopic,
  type CatalogStore,
  type CheckRecord,
  type NodeRecord,
  type ServiceRecord,
} from './consul-double-store.js'

/** Result of one read: the body and the index to send in X-Consul-Index. */
export interface QueryResult {
  index: number
  body: unknown
  /** True when ACL rules hid part of the result. */
  filtered?: boolean
  /** Status other than 200, such as the KV 404 that still carries an index. */
  status?: number
  /** When set, `body` is sent as is (a string or Buffer) with this content type. */
  contentType?: string
}

export interface ReadOptions {
  dc: string
  tags: readonly string[]
  passing: boolean
  filter: string | null
  /** Returns whether the caller may read a service or node by name. */
  canRead(resource: 'service' | 'node', name: string): boolean
  /** Source of randomness for result shuffling; the passing filter makes order unstable in Consul. */
  random: (() => number) | null
}

function nodeJson(node: NodeRecord | undefined, dc: string, name: string): Record<string, unknown> {
  return {
    ID: node?.id ?? '',
    Node: name,
    Address: node?.address ?? '',
    Datacenter: dc,
    TaggedAddresses: { ...(node?.taggedAddresses ?? {}) },
    Meta: { ...(node?.meta ?? {}) },
    CreateIndex: node?.createIndex ?? 0,
    ModifyIndex: node?.modifyIndex ?? 0,
  }
}

function serviceJson(svc: ServiceRecord): Record<string, unknown> {
  return {
    ID: svc.id,
    Service: svc.name,
    Tags: [...svc.tags],
    Address: svc.address,
    TaggedAddresses: structuredClone(svc.taggedAddresses),
    Meta: svc.meta === null ? null : { ...svc.meta },
    Port: svc.port,
    Weights: { ...svc.weights },
    EnableTagOverride: svc.enableTagOverride,
    Kind: svc.kind,
    CreateIndex: svc.createIndex,
    ModifyIndex: svc.modifyIndex,
  }
}

/** Renders a check the way the health endpoints show it. */
export function checkJson(store: CatalogStore, dc: string, check: CheckRecord): Record<string, unknown> {
  const svc = check.serviceId === '' ? undefined : store.service(dc, check.node, check.serviceId)
  return {
    Node: check.node,
    CheckID: check.checkId,
    Name: check.name,
    Status: check.status,
    Notes: check.notes,
    Output: check.output,
    ServiceID: check.serviceId,
    ServiceName: svc?.name ?? '',
    ServiceTags: svc ? [...svc.tags] : [],
    Type: check.type,
    CreateIndex: check.createIndex,
    ModifyIndex: check.modifyIndex,
  }
}

function hasAllTags(svc: ServiceRecord, tags: readonly string[]): boolean {
  const own = svc.tags.map((tag) => tag.toLowerCase())
  return tags.every((tag) => own.includes(tag.toLowerCase()))
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
}

function instancesOf(store: CatalogStore, dc: string, name: string): ServiceRecord[] {
  return store.instances(dc, name)
}

/** `GET /v1/health/service/:name`: instances with their node and every check that affects them. */
export function readHealthService(store: CatalogStore, name: string, opts: ReadOptions): QueryResult {
  const filter = opts.filter === null ? null : compileFilter(opts.filter)
  const index = store.topicIndex(serviceTopic(opts.dc, name))
  if (!opts.canRead('service', name)) return { index, body: [], filtered: true }

  let filtered = false
  const entries: Array<Record<string, unknown>> = []
  for (const svc of instancesOf(store, opts.dc, name)) {
    if (!hasAllTags(svc, opts.tags)) continue
    if (!opts.canRead('node', svc.node)) {
      filtered = true
      continue
    }
    const checks = store.checksFor(opts.dc, svc.node, svc.id)
    if (opts.passing && checks.some((check) => check.status !== 'passing')) continue
    const entry = {
      Node: nodeJson(store.node(opts.dc, svc.node), opts.dc, svc.node),
      Service: serviceJson(svc),
      Checks: checks.map((check) => checkJson(store, opts.dc, check)),
    }
    if (filter && !filter(entry)) continue
    entries.push(entry)
  }
  if (opts.random) shuffle(entries, opts.random)
  return { index, body: entries, filtered }
}

/** `GET /v1/catalog/services`: service names mapped to the union of their tags. */
export function readCatalogServices(store: CatalogStore, opts: ReadOptions): QueryResult {
  const out: Record<string, string[]> = {}
  let filtered = false
  const prefix = `${opts.dc}/`
  for (const [key, svc] of store.services) {
    if (!key.startsWith(prefix)) continue
    if (!opts.canRead('service', svc.name)) {
      filtered = true
      continue
    }
    const tags = (out[svc.name] ??= [])
    for (const tag of svc.tags) if (!tags.includes(tag)) tags.push(tag)
  }
  return { index: store.topicIndex(servicesTopic(opts.dc)), body: out, filtered }
}

/** `GET /v1/catalog/service/:name`: the flat catalog shape, with no health and all instances. */
export function readCatalogService(store: CatalogStore, name: string, opts: ReadOptions): QueryResult {
  const index = store.topicIndex(serviceTopic(opts.dc, name))
  if (!opts.canRead('service', name)) return { index, body: [], filtered: true }

  const body = instancesOf(store, opts.dc, name)
    .filter((svc) => hasAllTags(svc, opts.tags))
    .map((svc) => {
      const node = nodeJson(store.node(opts.dc, svc.node), opts.dc, svc.node)
      return {
        ID: node.ID,
        Node: node.Node,
        Address: node.Address,
        Datacenter: node.Datacenter,
        TaggedAddresses: node.TaggedAddresses,
        NodeMeta: node.Meta,
        ServiceID: svc.id,
        ServiceName: svc.name,
        ServiceAddress: svc.address,
        ServicePort: svc.port,
        ServiceTags: [...svc.tags],
        ServiceMeta: svc.meta === null ? {} : { ...svc.meta },
        ServiceWeights: { ...svc.weights },
        ServiceTaggedAddresses: structuredClone(svc.taggedAddresses),
        ServiceEnableTagOverride: svc.enableTagOverride,
        ServiceKind: svc.kind,
        CreateIndex: svc.createIndex,
        ModifyIndex: svc.modifyIndex,
      }
    })
  const filter = opts.filter === null ? null : compileFilter(opts.filter)
  return { index, body: filter ? body.filter((entry) => filter(entry)) : body }
}
