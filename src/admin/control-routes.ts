import type { ServerResponse } from 'node:http'
import type { ControlService, WriteOptions } from '../control/control-service.js'
import { invalidInput, type FieldProblem } from '../control/errors.js'
import { AdminError, readJsonBody, sendJson, sendNoContent } from './admin-http.js'
import type { AdminRequest, Router } from './router.js'

type ControlHandler = (control: ControlService, request: AdminRequest) => void | Promise<void>

/**
 * Registers the `/v1` CRUD routes of the control plane. Without a control service they stay
 * registered and send `GW_ADMIN_CONTROL_DISABLED`, so a client can tell a disabled control
 * plane from a typo in the path.
 */
export function registerControlRoutes(router: Router, control: ControlService | undefined): void {
  const on = (method: string, pattern: string, handler: ControlHandler): void => {
    router.on(method, pattern, (request) => {
      if (control === undefined) {
        throw new AdminError(
          'GW_ADMIN_CONTROL_DISABLED',
          'this gateway runs no control plane, so the control routes are unavailable',
        )
      }
      return handler(control, request)
    })
  }
  registerOwners(on)
  registerClusters(on)
  registerNodes(on)
  registerServices(on)
  registerSlbs(on)
}

type Register = (method: string, pattern: string, handler: ControlHandler) => void

function registerOwners(on: Register): void {
  on('GET', '/v1/accounts', (c, { res }) => sendJson(res, 200, { accounts: c.listAccounts() }))
  on('POST', '/v1/accounts', async (c, { req, res }) => {
    const account = await c.createAccount(await readJsonBody(req))
    sendCreated(res, `/v1/accounts/${account.id}`, account)
  })
  on('GET', '/v1/accounts/:id', (c, { res, params }) => {
    sendJson(res, 200, c.getAccount(params.id!))
  })
  on('DELETE', '/v1/accounts/:id', async (c, { res, params, query }) => {
    await c.deleteAccount(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })

  on('GET', '/v1/regions', (c, { res }) => sendJson(res, 200, { regions: c.listRegions() }))
  on('POST', '/v1/regions', async (c, { req, res }) => {
    const region = await c.createRegion(await readJsonBody(req))
    sendCreated(res, `/v1/regions/${region.id}`, region)
  })
  on('GET', '/v1/regions/:id', (c, { res, params }) => sendJson(res, 200, c.getRegion(params.id!)))
  on('DELETE', '/v1/regions/:id', async (c, { res, params, query }) => {
    await c.deleteRegion(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })
}

function registerClusters(on: Register): void {
  on('GET', '/v1/clusters', (c, { res, query }) => {
    const filter = {
      accountId: query.get('accountId') ?? undefined,
      regionId: query.get('regionId') ?? undefined,
    }
    sendJson(res, 200, { clusters: c.listClusters(filter) })
  })
  on('POST', '/v1/clusters', async (c, { req, res }) => {
    const cluster = await c.createCluster(await readJsonBody(req))
    sendCreated(res, `/v1/clusters/${cluster.id}`, cluster)
  })
  on('GET', '/v1/clusters/:id', (c, { res, params }) => {
    sendJson(res, 200, c.getCluster(params.id!))
  })
  on('PATCH', '/v1/clusters/:id', async (c, { req, res, params }) => {
    const { patch, options } = splitVersion(await readJsonBody(req))
    sendJson(res, 200, await c.updateCluster(params.id!, patch, options))
  })
  on('DELETE', '/v1/clusters/:id', async (c, { res, params, query }) => {
    await c.deleteCluster(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })
  on('GET', '/v1/clusters/:id/nodes', (c, { res, params }) => {
    const cluster = c.getCluster(params.id!)
    sendJson(res, 200, { nodes: c.listNodes(cluster.id) })
  })
}

function registerNodes(on: Register): void {
  on('GET', '/v1/nodes', (c, { res, query }) => {
    sendJson(res, 200, { nodes: c.listNodes(query.get('clusterId') ?? undefined) })
  })
  on('POST', '/v1/nodes', async (c, { req, res }) => {
    const node = await c.addNode(await readJsonBody(req))
    sendCreated(res, `/v1/nodes/${node.id}`, node)
  })
  on('GET', '/v1/nodes/:id', (c, { res, params }) => sendJson(res, 200, c.getNode(params.id!)))
  on('PATCH', '/v1/nodes/:id', async (c, { req, res, params }) => {
    const { patch, options } = splitVersion(await readJsonBody(req))
    sendJson(res, 200, await c.updateNode(params.id!, patch, options))
  })
  on('DELETE', '/v1/nodes/:id', async (c, { res, params, query }) => {
    await c.removeNode(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })
}

function registerServices(on: Register): void {
  on('GET', '/v1/services', (c, { res, query }) => {
    sendJson(res, 200, { services: c.listServices(query.get('clusterId') ?? undefined) })
  })
  on('GET', '/v1/clusters/:clusterId/services', (c, { res, params }) => {
    const cluster = c.getCluster(params.clusterId!)
    sendJson(res, 200, { services: c.listServices(cluster.id) })
  })
  on('POST', '/v1/clusters/:clusterId/services', async (c, { req, res, params }) => {
    const input = withPathClusterId(await readJsonBody(req), params.clusterId!)
    const service = await c.createService(input)
    sendCreated(res, `/v1/clusters/${service.clusterId}/services/${service.name}`, service)
  })
  const item = '/v1/clusters/:clusterId/services/:name'
  on('GET', item, (c, { res, params }) => {
    sendJson(res, 200, c.getService(params.clusterId!, params.name!))
  })
  on('PATCH', item, async (c, { req, res, params }) => {
    const { patch, options } = splitVersion(await readJsonBody(req))
    sendJson(res, 200, await c.updateService(params.clusterId!, params.name!, patch, options))
  })
  on('DELETE', item, async (c, { res, params, query }) => {
    await c.deleteService(params.clusterId!, params.name!, versionFromQuery(query))
    sendNoContent(res)
  })
}

function registerSlbs(on: Register): void {
  on('GET', '/v1/slbs', (c, { res }) => sendJson(res, 200, { slbs: c.listSlbs() }))
  on('POST', '/v1/slbs', async (c, { req, res }) => {
    const slb = await c.createSlb(await readJsonBody(req))
    sendCreated(res, `/v1/slbs/${slb.id}`, slb)
  })
  on('GET', '/v1/slbs/:id', (c, { res, params }) => sendJson(res, 200, c.getSlb(params.id!)))
  on('PATCH', '/v1/slbs/:id', async (c, { req, res, params }) => {
    const { patch, options } = splitVersion(await readJsonBody(req))
    sendJson(res, 200, await c.updateSlb(params.id!, patch, options))
  })
  on('DELETE', '/v1/slbs/:id', async (c, { res, params, query }) => {
    await c.deleteSlb(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })

  on('GET', '/v1/bindings', (c, { res }) => sendJson(res, 200, { bindings: c.listBindings() }))
  on('GET', '/v1/slbs/:id/binding', (c, { res, params }) => {
    sendJson(res, 200, c.getBinding(params.id!))
  })
  on('PUT', '/v1/slbs/:id/binding', async (c, { req, res, params }) => {
    const slbId = params.id!
    const clusterId = readBindingBody(await readJsonBody(req))
    const existed = c.listBindings().some((b) => b.slbId === slbId && b.clusterId === clusterId)
    const binding = await c.bind(slbId, clusterId)
    // Binding a pair that is already bound writes nothing, so it is 200 and not 201.
    if (existed) sendJson(res, 200, binding)
    else sendCreated(res, `/v1/slbs/${slbId}/binding`, binding)
  })
  on('DELETE', '/v1/slbs/:id/binding', async (c, { res, params, query }) => {
    await c.unbind(params.id!, versionFromQuery(query))
    sendNoContent(res)
  })
}

function sendCreated(res: ServerResponse, location: string, record: unknown): void {
  sendJson(res, 201, record, { location: encodeURI(location) })
}

/** Reads `?version=N`, the version a delete expects the record to be at. */
function versionFromQuery(query: URLSearchParams): WriteOptions {
  const raw = query.get('version')
  if (raw === null) return {}
  if (!/^[1-9]\d{0,14}$/.test(raw)) {
    const message = `must be a positive integer, got ${JSON.stringify(raw)}`
    throw invalidInput('query', [{ field: 'version', message }])
  }
  return { expectedVersion: Number(raw) }
}

/**
 * Splits an update body into the patch and its optional `version`, the version the client read.
 * A body that is not an object is passed on unchanged, so the control module reports it.
 */
function splitVersion(body: unknown): { patch: unknown; options: WriteOptions } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('version' in body)) {
    return { patch: body, options: {} }
  }
  const { version, ...patch } = body as Record<string, unknown>
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw invalidInput('update', [{ field: 'version', message: 'must be a positive integer' }])
  }
  return { patch, options: { expectedVersion: version } }
}

/** Fills `clusterId` from the path and rejects a body that names another cluster. */
function withPathClusterId(body: unknown, clusterId: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  const input = body as Record<string, unknown>
  if (input.clusterId !== undefined && input.clusterId !== clusterId) {
    const message = `must be omitted or equal the cluster in the path (${clusterId})`
    throw invalidInput('service', [{ field: 'clusterId', message }])
  }
  return { ...input, clusterId }
}

function readBindingBody(body: unknown): string {
  const problems: FieldProblem[] = []
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const message = 'must be an object such as {"clusterId": "c1"}'
    throw invalidInput('binding', [{ field: '$', message }])
  }
  const input = body as Record<string, unknown>
  for (const key of Object.keys(input)) {
    if (key !== 'clusterId') problems.push({ field: key, message: 'is not a known field' })
  }
  if (typeof input.clusterId !== 'string') {
    const message = input.clusterId === undefined ? 'is required' : 'must be a string'
    problems.push({ field: 'clusterId', message })
  }
  if (problems.length > 0) throw invalidInput('binding', problems)
  return input.clusterId as string
}
