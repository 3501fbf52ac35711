import { invalidInput, type FieldProblem } from './errors.js'
import type {
  AddressType,
  Billing,
  ConsulMapping,
  NetworkType,
  NodeJoin,
  NodeRole,
  PortProtocol,
  ServicePort,
  ServiceSource,
  StaticEndpoint,
} from './model.js'

/** DNS-label form: 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit. */
const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const ID_RULE = "must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"
const TOKEN_PATTERN = /^[^\s]{1,128}$/
const HOST_PATTERN = /^[A-Za-z0-9.:\-[\]]{1,253}$/
export const MAX_ENDPOINT_WEIGHT = 1000

export interface AccountInput {
  id: string
  name: string
}

export interface RegionInput {
  id: string
  zones: string[]
}

export interface ClusterInput {
  id: string
  name: string
  accountId: string
  regionId: string
  networkType: NetworkType
  vpcId: string
  zones: string[]
  consul?: ConsulMapping
}

/**
 * A node to add. For `attach`, the caller describes the existing instance, so `accountId`,
 * `regionId` and `vpcId` are required. For `expand`, they default to the cluster's own.
 */
export interface NodeInput {
  id: string
  clusterId: string
  accountId?: string
  regionId?: string
  vpcId?: string
  zoneId: string
  hasElasticIp: boolean
  billing: Billing
  role: NodeRole
  joinedBy: NodeJoin
}

export interface ServiceInput {
  clusterId: string
  name: string
  ports: ServicePort[]
  source: ServiceSource
}

export interface SlbInput {
  id: string
  accountId: string
  regionId: string
  addressType: AddressType
  networkType: NetworkType
}

type Obj = Record<string, unknown>

/** Collects problems while reading an untrusted object, each with its JSON path. */
class Reader {
  readonly problems: FieldProblem[] = []

  report(field: string, message: string): void {
    this.problems.push({ field, message })
  }

  object(value: unknown, path: string, allowed: readonly string[]): Obj | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.report(path || '$', 'must be an object')
      return undefined
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.report(join(path, key), 'is not a known field')
    }
    return value as Obj
  }

  id(obj: Obj, key: string, path: string): string {
    return this.idValue(obj[key], join(path, key))
  }

  idValue(value: unknown, field: string): string {
    if (typeof value !== 'string') {
      this.report(field, value === undefined ? 'is required' : 'must be a string')
      return ''
    }
    if (!ID_PATTERN.test(value)) this.report(field, `${JSON.stringify(value)} ${ID_RULE}`)
    return value
  }

  optionalId(obj: Obj, key: string, path: string): string | undefined {
    return obj[key] === undefined ? undefined : this.id(obj, key, path)
  }

  token(value: unknown, field: string): string {
    if (typeof value !== 'string' || !TOKEN_PATTERN.test(value)) {
      this.report(field, 'must be a string of 1-128 characters without whitespace')
      return ''
    }
    return value
  }

  text(obj: Obj, key: string, path: string, fallback?: string): string {
    const value = obj[key] ?? fallback
    const field = join(path, key)
    if (typeof value !== 'string' || value.trim() === '' || value.length > 256) {
      const rule = 'must be a non-empty string of at most 256 characters'
      this.report(field, value === undefined ? 'is required' : rule)
      return ''
    }
    return value
  }

  oneOf<T extends string>(obj: Obj, key: string, path: string, options: readonly T[], fallback?: T): T {
    const value = obj[key] ?? fallback
    if (typeof value === 'string' && (options as readonly string[]).includes(value)) return value as T

    const expected = options.map((o) => `'${o}'`).join(' or ')
    const message = value === undefined ? `is required (${expected})` : `must be ${expected}`
    this.report(join(path, key), message)
    return options[0]!
  }

  boolean(obj: Obj, key: string, path: string): boolean {
    const value = obj[key]
    if (typeof value !== 'boolean') {
      this.report(join(path, key), value === undefined ? 'is required' : 'must be true or false')
      return false
    }
    return value
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.report(field, value === undefined ? 'is required' : `must be an integer from ${min} to ${max}`)
      return min
    }
    return value
  }

  array(value: unknown, field: string, minItems: number): unknown[] {
    if (!Array.isArray(value)) {
      this.report(field, value === undefined ? 'is required' : 'must be an array')
      return []
    }
    if (value.length < minItems) this.report(field, `must have at least ${minItems} item(s)`)
    return value
  }

  /** Reads a list of unique ids. */
  idList(value: unknown, field: string, minItems: number): string[] {
    const items = this.array(value, field, minItems)
    const seen = new Set<string>()
    return items.map((item, i) => {
      const id = this.idValue(item, `${field}[${i}]`)
      if (seen.has(id)) this.report(`${field}[${i}]`, `duplicates ${JSON.stringify(id)}`)
      seen.add(id)
      return id
    })
  }

  tokenList(value: unknown, field: string): string[] {
    return this.array(value, field, 0).map((item, i) => this.token(item, `${field}[${i}]`))
  }

  finish<T>(subject: string, value: T): T {
    if (this.problems.length > 0) throw invalidInput(subject, this.problems)
    return value
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

/** Validates an id such as a path parameter. Throws `GW_CTL_INVALID` naming `field`. */
export function checkId(value: unknown, field: string): string {
  const r = new Reader()
  return r.finish(field, r.idValue(value, field))
}

export function parseAccount(raw: unknown): AccountInput {
  const r = new Reader()
  const o = r.object(raw, '', ['id', 'name']) ?? {}
  const id = r.id(o, 'id', '')
  return r.finish('account', { id, name: r.text(o, 'name', '', id || undefined) })
}

export function parseRegion(raw: unknown): RegionInput {
  const r = new Reader()
  const o = r.object(raw, '', ['id', 'zones']) ?? {}
  return r.finish('region', { id: r.id(o, 'id', ''), zones: r.idList(o.zones, 'zones', 1) })
}

export function parseCluster(raw: unknown): ClusterInput {
  const r = new Reader()
  const fields = ['id', 'name', 'accountId', 'regionId', 'networkType', 'vpcId', 'zones', 'consul']
  const o = r.object(raw, '', fields) ?? {}
  const id = r.id(o, 'id', '')
  const input: ClusterInput = {
    id,
    name: r.text(o, 'name', '', id || undefined),
    accountId: r.id(o, 'accountId', ''),
    regionId: r.id(o, 'regionId', ''),
    networkType: r.oneOf(o, 'networkType', '', ['vpc'], 'vpc'),
    vpcId: r.id(o, 'vpcId', ''),
    zones: r.idList(o.zones, 'zones', 1),
  }
  if (o.consul !== undefined) input.consul = readConsulMapping(r, o.consul)
  return r.finish('cluster', input)
}

function readConsulMapping(r: Reader, raw: unknown): ConsulMapping {
  const o = r.object(raw, 'consul', ['datacenter', 'tags']) ?? {}
  const mapping: ConsulMapping = {}
  if (o.datacenter !== undefined) mapping.datacenter = r.token(o.datacenter, 'consul.datacenter')
  if (o.tags !== undefined) mapping.tags = r.tokenList(o.tags, 'consul.tags')
  if (o.datacenter === undefined && o.tags === undefined) {
    r.report('consul', 'must set datacenter, tags or both')
  }
  return mapping
}

export function parseNode(raw: unknown): NodeInput {
  const r = new Reader()
  const fields = [
    'id', 'clusterId', 'accountId', 'regionId', 'vpcId', 'zoneId',
    'hasElasticIp', 'billing', 'role', 'joinedBy',
  ]
  const o = r.object(raw, '', fields) ?? {}
  const joinedBy = r.oneOf<NodeJoin>(o, 'joinedBy', '', ['expand', 'attach'])
  const input: NodeInput = {
    id: r.id(o, 'id', ''),
    clusterId: r.id(o, 'clusterId', ''),
    zoneId: r.id(o, 'zoneId', ''),
    hasElasticIp: r.boolean(o, 'hasElasticIp', ''),
    billing: r.oneOf<Billing>(o, 'billing', '', ['pay-as-you-go', 'subscription']),
    role: r.oneOf<NodeRole>(o, 'role', '', ['worker', 'master'], 'worker'),
    joinedBy,
  }
  for (const key of ['accountId', 'regionId', 'vpcId'] as const) {
    const value = joinedBy === 'attach' ? r.id(o, key, '') : r.optionalId(o, key, '')
    if (value !== undefined) input[key] = value
  }
  return r.finish('node', input)
}

export function parseService(raw: unknown): ServiceInput {
  const r = new Reader()
  const o = r.object(raw, '', ['clusterId', 'name', 'ports', 'source']) ?? {}
  const input = {
    clusterId: r.id(o, 'clusterId', ''),
    name: r.id(o, 'name', ''),
    ports: readPorts(r, o.ports),
    source: readSource(r, o.source),
  }
  return r.finish('service', input)
}

function readPorts(r: Reader, raw: unknown): ServicePort[] {
  const seenNames = new Set<string>()
  const seenPorts = new Set<number>()
  return r.array(raw, 'ports', 1).map((item, i) => {
    const path = `ports[${i}]`
    const o = r.object(item, path, ['name', 'port', 'protocol']) ?? {}
    const port: ServicePort = {
      name: r.id(o, 'name', path),
      port: r.integer(o.port, `${path}.port`, 1, 65535),
      protocol: r.oneOf<PortProtocol>(o, 'protocol', path, ['tcp', 'http'], 'tcp'),
    }
    if (seenNames.has(port.name)) r.report(`${path}.name`, `duplicates ${JSON.stringify(port.name)}`)
    if (seenPorts.has(port.port)) r.report(`${path}.port`, `duplicates port ${port.port}`)
    seenNames.add(port.name)
    seenPorts.add(port.port)
    return port
  })
}

function readSource(r: Reader, raw: unknown): ServiceSource {
  const o = r.object(raw, 'source', ['kind', 'service', 'tags', 'endpoints']) ?? {}
  const kind = r.oneOf(o, 'kind', 'source', ['consul', 'static'] as const)
  if (kind === 'consul') {
    if (o.endpoints !== undefined) r.report('source.endpoints', "is only allowed with kind 'static'")
    const source: ServiceSource = { kind, service: r.token(o.service, 'source.service') }
    if (o.tags !== undefined) source.tags = r.tokenList(o.tags, 'source.tags')
    return source
  }

  for (const key of ['service', 'tags']) {
    if (o[key] !== undefined) r.report(`source.${key}`, "is only allowed with kind 'consul'")
  }
  const seen = new Set<string>()
  const endpoints = r.array(o.endpoints, 'source.endpoints', 1).map((item, i) => {
    const endpoint = readEndpoint(r, item, `source.endpoints[${i}]`)
    const key = `${endpoint.host}:${endpoint.port}`
    if (seen.has(key)) r.report(`source.endpoints[${i}]`, `duplicates ${key}`)
    seen.add(key)
    return endpoint
  })
  return { kind, endpoints }
}

function readEndpoint(r: Reader, raw: unknown, path: string): StaticEndpoint {
  const o = r.object(raw, path, ['host', 'port', 'weight']) ?? {}
  const host = typeof o.host === 'string' && HOST_PATTERN.test(o.host) ? o.host : ''
  if (host === '') r.report(`${path}.host`, 'must be a hostname or an IP address')
  return {
    host,
    port: r.integer(o.port, `${path}.port`, 1, 65535),
    weight: r.integer(o.weight ?? 1, `${path}.weight`, 0, MAX_ENDPOINT_WEIGHT),
  }
}

export function parseSlb(raw: unknown): SlbInput {
  const r = new Reader()
  const o = r.object(raw, '', ['id', 'accountId', 'regionId', 'addressType', 'networkType']) ?? {}
  const input: SlbInput = {
    id: r.id(o, 'id', ''),
    accountId: r.id(o, 'accountId', ''),
    regionId: r.id(o, 'regionId', ''),
    addressType: r.oneOf<AddressType>(o, 'addressType', '', ['internet', 'intranet']),
    networkType: r.oneOf<NetworkType>(o, 'networkType', '', ['vpc'], 'vpc'),
  }
  return r.finish('SLB instance', input)
}

/**
 * Rejects patch fields outside `mutable`, each as its own problem, so an update cannot move a
 * record to another owner, region or cluster. Such a change is a delete and a create.
 */
export function checkPatchFields(subject: string, patch: unknown, mutable: readonly string[]): Obj {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw invalidInput(`${subject} update`, [{ field: '$', message: 'must be an object' }])
  }
  const problems = Object.keys(patch)
    .filter((key) => !mutable.includes(key))
    .map((field) => ({ field, message: `cannot be changed; changeable fields: ${mutable.join(', ')}` }))
  if (problems.length > 0) throw invalidInput(`${subject} update`, problems)
  return patch as Obj
}
