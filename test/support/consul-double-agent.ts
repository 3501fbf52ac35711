import { requireAccess } from './consul-double-acl.js'
import { empty, json, type Reply, type RouteContext } from './consul-double-context.js'
import { checkJson } from './consul-double-queries.js'
import type { CheckInput, CheckRecord, CheckStatus, ServiceInput } from './consul-double-store.js'
import {
  durationField,
  field,
  HttpError,
  numberField,
  readJson,
  readQueryBool,
  stringField,
  stringListField,
  stringMapField,
} from './consul-double-util.js'

const STATUSES = new Set<CheckStatus>(['passing', 'warning', 'critical'])

function parseStatus(value: string, fallback: CheckStatus): CheckStatus {
  if (value === '') return fallback
  if (!STATUSES.has(value as CheckStatus)) throw new HttpError(400, `Invalid check status: "${value}"`)
  return value as CheckStatus
}

function checkType(raw: unknown): string {
  const withInterval = durationField(raw, 'Interval') !== undefined
  if (durationField(raw, 'TTL') !== undefined) return 'ttl'
  if (withInterval && stringField(raw, 'HTTP') !== '') return 'http'
  if (withInterval && stringField(raw, 'TCP') !== '') return 'tcp'
  if (withInterval && stringField(raw, 'GRPC') !== '') return 'grpc'
  if (withInterval && stringField(raw, 'H2PING') !== '') return 'h2ping'
  if (withInterval && stringField(raw, 'UDP') !== '') return 'udp'
  if (withInterval && field(raw, 'Args') !== undefined) return 'script'
  if (stringField(raw, 'AliasService') !== '' || stringField(raw, 'AliasNode') !== '') return 'alias'
  throw new HttpError(400, 'Invalid check: one of TTL, or HTTP, TCP, GRPC, H2PING, UDP or Args with Interval, is required')
}

/** Decodes one check definition; a check without an ID or name gets the generated ones. */
function decodeCheck(
  raw: unknown,
  node: string,
  service: { id: string; name: string } | undefined,
  generatedId: string,
): CheckInput {
  const type = checkType(raw)
  const ttlMs = durationField(raw, 'TTL')
  if (ttlMs !== undefined && ttlMs <= 0) throw new HttpError(400, 'Invalid check: TTL must be > 0')
  const checkId = stringField(raw, 'CheckID') || stringField(raw, 'ID') || generatedId
  const name = stringField(raw, 'Name') || (service ? `Service '${service.name}' check` : '')
  const input: CheckInput = {
    node,
    checkId,
    name,
    status: parseStatus(stringField(raw, 'Status'), 'critical'),
    notes: stringField(raw, 'Notes'),
    output: '',
    serviceId: service?.id ?? '',
    type,
  }
  if (ttlMs !== undefined) input.ttlMs = ttlMs
  const http = stringField(raw, 'HTTP')
  if (http !== '') input.http = http
  const tcp = stringField(raw, 'TCP')
  if (tcp !== '') input.tcp = tcp
  const intervalMs = durationField(raw, 'Interval')
  if (intervalMs !== undefined) input.intervalMs = intervalMs
  input.timeoutMs = durationField(raw, 'Timeout') ?? 10_000
  const deregisterAfterMs = durationField(raw, 'DeregisterCriticalServiceAfter')
  if (deregisterAfterMs !== undefined) input.deregisterAfterMs = deregisterAfterMs
  return input
}

function decodeWeights(raw: unknown): { Passing: number; Warning: number } {
  const weights = field(raw, 'Weights')
  if (weights === undefined || weights === null) return { Passing: 1, Warning: 1 }
  const passing = numberField(weights, 'Passing', 1)
  const warning = numberField(weights, 'Warning', 1)
  if (!Number.isInteger(passing) || passing < 1) {
    throw new HttpError(400, 'Invalid Weights: Passing must be an integer greater than 0')
  }
  if (!Number.isInteger(warning) || warning < 0) {
    throw new HttpError(400, 'Invalid Weights: Warning must be a non-negative integer')
  }
  return { Passing: passing, Warning: warning }
}

function decodeTaggedAddresses(raw: unknown): Record<string, { address: string; port: number }> {
  const value = field(raw, 'TaggedAddresses')
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'Request decode failed: TaggedAddresses must be an object')
  }
  const out: Record<string, { address: string; port: number }> = {}
  for (const [key, item] of Object.entries(value)) {
    out[key] = { address: stringField(item, 'Address'), port: numberField(item, 'Port', 0) }
  }
  return out
}

/** Decodes a service registration body (PascalCase, keys matched case-insensitively). */
export function decodeRegistration(raw: unknown, node: string): { service: ServiceInput; checks: CheckInput[] } {
  const name = stringField(raw, 'Name')
  if (name === '') throw new HttpError(400, 'Missing service name')
  const id = stringField(raw, 'ID') || name
  const port = numberField(raw, 'Port', 0)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HttpError(400, 'Invalid service port')
  const service: ServiceInput = {
    node,
    id,
    name,
    tags: stringListField(raw, 'Tags'),
    address: stringField(raw, 'Address'),
    port,
    meta: stringMapField(raw, 'Meta'),
    weights: decodeWeights(raw),
    taggedAddresses: decodeTaggedAddresses(raw),
    enableTagOverride: field(raw, 'EnableTagOverride') === true,
    kind: stringField(raw, 'Kind'),
  }

  const owner = { id, name }
  const checks: CheckInput[] = []
  const single = field(raw, 'Check')
  if (single !== undefined && single !== null) checks.push(decodeCheck(single, node, owner, `service:${id}`))
  const list = field(raw, 'Checks')
  if (Array.isArray(list)) {
    list.forEach((item, i) => checks.push(decodeCheck(item, node, owner, `service:${id}:${i + 1}`)))
  }
  return { service, checks }
}

async function registerService(ctx: RouteContext): Promise<Reply> {
  const { service, checks } = decodeRegistration(await readJson(ctx.req), ctx.agentNode)
  requireAccess(ctx.caller, 'service', service.name, 'write')
  const replace = readQueryBool(ctx.query, 'replace-existing-checks')
  ctx.store.upsertService(ctx.localDc, service, checks, replace)
  return empty()
}

async function deregisterService(ctx: RouteContext): Promise<Reply> {
  const id = ctx.params[0] ?? ''
  const svc = ctx.store.service(ctx.localDc, ctx.agentNode, id)
  if (svc) requireAccess(ctx.caller, 'service', svc.name, 'write')
  ctx.store.removeService(ctx.localDc, ctx.agentNode, id)
  return empty()
}

async function serviceMaintenance(ctx: RouteContext): Promise<Reply> {
  const id = ctx.params[0] ?? ''
  const enable = ctx.query.get('enable')
  if (enable === null || enable === '') throw new HttpError(400, 'Missing value for enable')
  const svc = ctx.store.service(ctx.localDc, ctx.agentNode, id)
  if (!svc) throw new HttpError(404, `Unknown service ID "${id}"`)
  requireAccess(ctx.caller, 'service', svc.name, 'write')
  const checkId = `_service_maintenance:${id}`
  if (readQueryBool(ctx.query, 'enable')) {
    ctx.store.upsertCheck(ctx.localDc, {
      node: ctx.agentNode,
      checkId,
      name: 'Service Maintenance Mode',
      status: 'critical',
      notes: ctx.query.get('reason') || 'Maintenance mode is enabled for this service',
      output: '',
      serviceId: id,
      type: 'maintenance',
    })
  } else {
    ctx.store.removeCheck(ctx.localDc, ctx.agentNode, checkId)
  }
  return empty()
}

function requireCheckWrite(ctx: RouteContext, check: CheckRecord | { serviceId: string }): void {
  if (check.serviceId === '') {
    requireAccess(ctx.caller, 'node', ctx.agentNode, 'write')
    return
  }
  const svc = ctx.store.service(ctx.localDc, ctx.agentNode, check.serviceId)
  requireAccess(ctx.caller, 'service', svc?.name ?? check.serviceId, 'write')
}

async function registerCheck(ctx: RouteContext): Promise<Reply> {
  const raw = await readJson(ctx.req)
  const name = stringField(raw, 'Name')
  if (name === '') throw new HttpError(400, 'Missing check name')
  const serviceId = stringField(raw, 'ServiceID')
  const svc = serviceId === '' ? undefined : ctx.store.service(ctx.localDc, ctx.agentNode, serviceId)
  if (serviceId !== '' && !svc) throw new HttpError(400, `ServiceID "${serviceId}" does not exist`)
  const input = decodeCheck(raw, ctx.agentNode, svc ? { id: svc.id, name: svc.name } : undefined, name)
  requireCheckWrite(ctx, input)
  ctx.store.upsertCheck(ctx.localDc, input, stringField(raw, 'Status') !== '')
  return empty()
}

function findAgentCheck(ctx: RouteContext): CheckRecord {
  const id = ctx.params[0] ?? ''
  const check = ctx.store.check(ctx.localDc, ctx.agentNode, id)
  if (!check) throw new HttpError(404, `Unknown check ID "${id}"`)
  requireCheckWrite(ctx, check)
  return check
}

async function deregisterCheck(ctx: RouteContext): Promise<Reply> {
  const id = ctx.params[0] ?? ''
  const check = ctx.store.check(ctx.localDc, ctx.agentNode, id)
  if (!check) throw new HttpError(404, `Unknown check ID "${id}"`)
  requireCheckWrite(ctx, check)
  ctx.store.removeCheck(ctx.localDc, ctx.agentNode, id)
  return empty()
}

function ttlUpdate(status: CheckStatus) {
  return async (ctx: RouteContext): Promise<Reply> => {
    const check = findAgentCheck(ctx)
    if (check.ttlMs === undefined) {
      throw new HttpError(500, `CheckID "${check.checkId}" does not have associated TTL`)
    }
    ctx.store.updateCheck(ctx.localDc, check, status, ctx.query.get('note') ?? '')
    return empty()
  }
}

async function updateCheck(ctx: RouteContext): Promise<Reply> {
  const check = findAgentCheck(ctx)
  const raw = await readJson(ctx.req)
  const statusText = stringField(raw, 'Status')
  if (!STATUSES.has(statusText as CheckStatus)) throw new HttpError(400, `Invalid check status: "${statusText}"`)
  if (check.ttlMs === undefined) {
    throw new HttpError(500, `CheckID "${check.checkId}" does not have associated TTL`)
  }
  ctx.store.updateCheck(ctx.localDc, check, statusText as CheckStatus, stringField(raw, 'Output'))
  return empty()
}

async function listServices(ctx: RouteContext): Promise<Reply> {
  const out: Record<string, unknown> = {}
  for (const svc of ctx.store.servicesOnNode(ctx.localDc, ctx.agentNode)) {
    if (!ctx.caller.allowed('service', svc.name, 'read')) continue
    out[svc.id] = {
      ID: svc.id,
      Service: svc.name,
      Tags: [...svc.tags],
      Meta: svc.meta ?? {},
      Port: svc.port,
      Address: svc.address,
      TaggedAddresses: structuredClone(svc.taggedAddresses),
      Weights: { ...svc.weights },
      EnableTagOverride: svc.enableTagOverride,
      Datacenter: ctx.localDc,
    }
  }
  return json(out)
}

async function listChecks(ctx: RouteContext): Promise<Reply> {
  const out: Record<string, unknown> = {}
  for (const check of ctx.store.checksOnNode(ctx.localDc, ctx.agentNode)) {
    out[check.checkId] = checkJson(ctx.store, ctx.localDc, check)
  }
  return json(out)
}

export const AGENT_ROUTES = [
  { name: 'agent.services', method: 'GET', pattern: /^\/v1\/agent\/services$/, handle: listServices },
  { name: 'agent.checks', method: 'GET', pattern: /^\/v1\/agent\/checks$/, handle: listChecks },
  { name: 'agent.service.register', method: 'PUT', pattern: /^\/v1\/agent\/service\/register$/, handle: registerService },
  { name: 'agent.service.deregister', method: 'PUT', pattern: /^\/v1\/agent\/service\/deregister\/(.+)$/, handle: deregisterService },
  { name: 'agent.service.maintenance', method: 'PUT', pattern: /^\/v1\/agent\/service\/maintenance\/(.+)$/, handle: serviceMaintenance },
  { name: 'agent.check.register', method: 'PUT', pattern: /^\/v1\/agent\/check\/register$/, handle: registerCheck },
  { name: 'agent.check.deregister', method: 'PUT', pattern: /^\/v1\/agent\/check\/deregister\/(.+)$/, handle: deregisterCheck },
  { name: 'agent.check.pass', method: 'PUT', pattern: /^\/v1\/agent\/check\/pass\/(.+)$/, handle: ttlUpdate('passing') },
  { name: 'agent.check.warn', method: 'PUT', pattern: /^\/v1\/agent\/check\/warn\/(.+)$/, handle: ttlUpdate('warning') },
  { name: 'agent.check.fail', method: 'PUT', pattern: /^\/v1\/agent\/check\/fail\/(.+)$/, handle: ttlUpdate('critical') },
  { name: 'agent.check.update', method: 'PUT', pattern: /^\/v1\/agent\/check\/update\/(.+)$/, handle: updateCheck },
] as const
