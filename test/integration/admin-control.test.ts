import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js'
import { GatewayMetrics } from '../../src/admin/gateway-metrics.js'
import { ControlService } from '../../src/control/control-service.js'
import type { ControlState, StateSnapshot } from '../../src/control/model.js'
import { MemoryStore } from '../../src/control/store.js'
import { memoryLogger, send, sendRaw, startGateway, type LogLine, type RunningGateway } from '../support/gateway-harness.js'

interface JsonResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/** A store whose writes fail with a plain error, as a bug or an unexpected fault would. */
class BrokenStore extends MemoryStore {
  override async write(_state: ControlState, _expectedRevision: number): Promise<StateSnapshot> {
    throw new Error('simulated store fault')
  }
}

describe('admin API control routes', () => {
  let gw: RunningGateway
  let admin: AdminServer
  let control: ControlService
  let lines: LogLine[]

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
    let text: string | undefined
    if (typeof body === 'string') text = body
    else if (body !== undefined) text = JSON.stringify(body)
    const contentType: Record<string, string> = text === undefined ? {} : { 'content-type': 'application/json' }
    const res = await send(admin.port, { method, path, body: text, headers: { ...contentType, ...headers } })
    return { status: res.status, headers: res.headers, body: res.body === '' ? undefined : JSON.parse(res.body) }
  }

  async function startAdmin(service: ControlService | undefined): Promise<void> {
    const logger = memoryLogger()
    lines = logger.lines
    const config = { address: '127.0.0.1', port: 0 }
    admin = await startAdminServer({ config, gateway: gw.gateway, control: service, metrics: new GatewayMetrics({ defaultMetrics: false }), log: logger.log })
  }

  async function seed(): Promise<void> {
    await call('POST', '/v1/accounts', { id: 'acc-1' })
    await call('POST', '/v1/accounts', { id: 'acc-2' })
    await call('POST', '/v1/regions', { id: 'r1', zones: ['z1', 'z2'] })
    await call('POST', '/v1/regions', { id: 'r2', zones: ['z9'] })
    await call('POST', '/v1/clusters', { id: 'c1', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1', 'z2'] })
  }

  const expandNode = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: 'i-1', clusterId: 'c1', zoneId: 'z1', hasElasticIp: false, billing: 'pay-as-you-go', role: 'worker', joinedBy: 'expand', ...overrides,
  })

  beforeAll(async () => {
    gw = await startGateway({ config: 'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]' })
  })

  afterAll(async () => {
    await gw.stop()
  })

  beforeEach(async () => {
    control = new ControlService({ store: new MemoryStore(), quotas: { clustersPerAccount: 2, workerNodesPerCluster: 1 } })
    await control.start()
    await startAdmin(control)
  })

  afterEach(async () => {
    await admin.close()
    await control.close()
  })

  describe('accounts and regions', () => {
    it('creates an account with a location', async () => {
      const res = await call('POST', '/v1/accounts', { id: 'acc-1', name: 'Shop' })

      expect(res.status).toBe(201)
      expect(res.headers.location).toBe('/v1/accounts/acc-1')
      expect(res.body).toEqual({ id: 'acc-1', name: 'Shop', version: 1 })
    })

    it('reads and lists accounts', async () => {
      await call('POST', '/v1/accounts', { id: 'acc-1' })

      expect((await call('GET', '/v1/accounts/acc-1')).body.name).toBe('acc-1')
      expect((await call('GET', '/v1/accounts')).body.accounts.map((a: { id: string }) => a.id)).toEqual(['acc-1'])
    })

    it('deletes an account', async () => {
      await call('POST', '/v1/accounts', { id: 'acc-1' })

      const res = await call('DELETE', '/v1/accounts/acc-1')

      expect(res.status).toBe(204)
      expect(res.body).toBeUndefined()
      expect((await call('GET', '/v1/accounts/acc-1')).status).toBe(404)
    })

    it('reports a duplicate id', async () => {
      await call('POST', '/v1/accounts', { id: 'acc-1' })

      const res = await call('POST', '/v1/accounts', { id: 'acc-1' })

      expect(res.status).toBe(409)
      expect(res.body.error).toEqual({ code: 'GW_CTL_ALREADY_EXISTS', message: 'account acc-1 already exists', field: 'id' })
    })

    it('reports every input problem', async () => {
      const res = await call('POST', '/v1/regions', { id: 'Bad_Id', zones: [], colour: 'red' })

      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('GW_CTL_INVALID')
      expect(res.body.error.field).toBe(res.body.error.problems[0].field)
      expect(res.body.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['colour', 'id', 'zones'])
    })

    it('reports an unknown id', async () => {
      const res = await call('GET', '/v1/regions/r9')

      expect(res.status).toBe(404)
      expect(res.body.error).toEqual({ code: 'GW_CTL_NOT_FOUND', message: 'region r9 not found' })
    })

    it('rejects deleting a region in use', async () => {
      await seed()

      const res = await call('DELETE', '/v1/regions/r1')

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_IN_USE')
    })

    it('rejects a malformed path id', async () => {
      const res = await call('GET', '/v1/accounts/NOT_AN_ID')

      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('GW_CTL_INVALID')
      expect(res.body.error.field).toBe('id')
    })
  })

  describe('clusters', () => {
    beforeEach(seed)

    it('updates with the version read', async () => {
      const res = await call('PATCH', '/v1/clusters/c1', { name: 'orders', version: 1 })

      expect(res.status).toBe(200)
      expect(res.body.name).toBe('orders')
      expect(res.body.version).toBe(2)
    })

    it('rejects a stale version', async () => {
      await call('PATCH', '/v1/clusters/c1', { name: 'orders' })

      const res = await call('PATCH', '/v1/clusters/c1', { name: 'again', version: 1 })

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_CONFLICT')
      expect(res.body.error.field).toBe('version')
      expect((await call('GET', '/v1/clusters/c1')).body.name).toBe('orders')
    })

    it('rejects a malformed version', async () => {
      const res = await call('PATCH', '/v1/clusters/c1', { name: 'x', version: 'one' })

      expect(res.status).toBe(400)
      expect(res.body.error.field).toBe('version')
    })

    it('rejects a fixed field in a patch', async () => {
      const res = await call('PATCH', '/v1/clusters/c1', { accountId: 'acc-2' })

      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('GW_CTL_INVALID')
      expect(res.body.error.field).toBe('accountId')
    })

    it('rejects a zone outside the region', async () => {
      const res = await call('POST', '/v1/clusters', { id: 'c2', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1', 'z9'] })

      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('GW_CTL_CLUSTER_ZONE_UNKNOWN')
      expect(res.body.error.field).toBe('zones[1]')
    })

    it('enforces the cluster quota', async () => {
      await call('POST', '/v1/clusters', { id: 'c2', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1'] })

      const res = await call('POST', '/v1/clusters', { id: 'c3', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1'] })

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_CLUSTER_QUOTA_EXCEEDED')
      expect(res.body.error.field).toBe('accountId')
    })

    it('filters clusters by account', async () => {
      const res = await call('GET', '/v1/clusters?accountId=acc-2')

      expect(res.body.clusters).toEqual([])
    })

    it('deletes with a matching version', async () => {
      expect((await call('DELETE', '/v1/clusters/c1?version=2')).status).toBe(409)
      expect((await call('DELETE', '/v1/clusters/c1?version=x')).status).toBe(400)

      const res = await call('DELETE', '/v1/clusters/c1?version=1')

      expect(res.status).toBe(204)
    })

    it('rejects deleting a cluster with nodes', async () => {
      await call('POST', '/v1/nodes', expandNode())

      const res = await call('DELETE', '/v1/clusters/c1')

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_CLUSTER_NOT_EMPTY')
    })
  })

  describe('nodes', () => {
    beforeEach(seed)

    it('adds, reads, updates and removes a node', async () => {
      const created = await call('POST', '/v1/nodes', expandNode())
      expect(created.status).toBe(201)
      expect(created.headers.location).toBe('/v1/nodes/i-1')
      expect(created.body.vpcId).toBe('vpc-1')

      expect((await call('GET', '/v1/nodes/i-1')).body.zoneId).toBe('z1')
      expect((await call('GET', '/v1/clusters/c1/nodes')).body.nodes).toHaveLength(1)
      expect((await call('GET', '/v1/nodes?clusterId=c1')).body.nodes).toHaveLength(1)

      const updated = await call('PATCH', '/v1/nodes/i-1', { zoneId: 'z2', version: 1 })
      expect(updated.status).toBe(200)
      expect(updated.body.zoneId).toBe('z2')

      expect((await call('DELETE', '/v1/nodes/i-1')).status).toBe(204)
      expect((await call('GET', '/v1/nodes/i-1')).status).toBe(404)
    })

    it('rejects a zone outside the cluster', async () => {
      await call('PATCH', '/v1/clusters/c1', { zones: ['z1'] })

      const res = await call('POST', '/v1/nodes', expandNode({ zoneId: 'z2' }))

      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('GW_CTL_NODE_ZONE_MISMATCH')
      expect(res.body.error.field).toBe('zoneId')
    })

    it('rejects an attached node without elastic IP', async () => {
      const node = expandNode({ joinedBy: 'attach', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', hasElasticIp: false })

      const res = await call('POST', '/v1/nodes', node)

      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('GW_CTL_NODE_NO_ELASTIC_IP')
    })

    it('enforces the worker quota', async () => {
      await call('POST', '/v1/nodes', expandNode())

      const res = await call('POST', '/v1/nodes', expandNode({ id: 'i-2' }))

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_NODE_QUOTA_EXCEEDED')
      expect(res.body.error.field).toBe('clusterId')
    })

    it('lists nodes of an unknown cluster as not found', async () => {
      const res = await call('GET', '/v1/clusters/c9/nodes')

      expect(res.status).toBe(404)
    })
  })

  describe('services', () => {
    beforeEach(seed)

    const web = { name: 'web', ports: [{ name: 'http', port: 80, protocol: 'http' }], source: { kind: 'static', endpoints: [{ host: '127.0.0.1', port: 9000 }] } }

    it('creates, reads, updates and deletes a service', async () => {
      const created = await call('POST', '/v1/clusters/c1/services', web)
      expect(created.status).toBe(201)
      expect(created.headers.location).toBe('/v1/clusters/c1/services/web')
      expect(created.body.clusterId).toBe('c1')

      expect((await call('GET', '/v1/clusters/c1/services/web')).body.ports[0].port).toBe(80)
      expect((await call('GET', '/v1/clusters/c1/services')).body.services).toHaveLength(1)
      expect((await call('GET', '/v1/services')).body.services).toHaveLength(1)

      const updated = await call('PATCH', '/v1/clusters/c1/services/web', { ports: [{ name: 'http', port: 8080 }], version: 1 })
      expect(updated.status).toBe(200)
      expect(updated.body.ports[0]).toEqual({ name: 'http', port: 8080, protocol: 'tcp' })

      expect((await call('DELETE', '/v1/clusters/c1/services/web?version=2')).status).toBe(204)
      expect((await call('GET', '/v1/clusters/c1/services/web')).status).toBe(404)
    })

    it('rejects a body naming another cluster', async () => {
      const res = await call('POST', '/v1/clusters/c1/services', { ...web, clusterId: 'c2' })

      expect(res.status).toBe(400)
      expect(res.body.error.field).toBe('clusterId')
    })

    it('rejects a port another service uses', async () => {
      await call('POST', '/v1/clusters/c1/services', web)

      const res = await call('POST', '/v1/clusters/c1/services', { ...web, name: 'api' })

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_SERVICE_PORT_IN_USE')
      expect(res.body.error.field).toBe('ports[0].port')
    })

    it('reports an invalid endpoint by path', async () => {
      const source = { kind: 'static', endpoints: [{ host: '127.0.0.1', port: 70000 }] }

      const res = await call('POST', '/v1/clusters/c1/services', { ...web, source })

      expect(res.status).toBe(400)
      expect(res.body.error.field).toBe('source.endpoints[0].port')
    })
  })

  describe('SLBs and bindings', () => {
    beforeEach(async () => {
      await seed()
      await call('POST', '/v1/slbs', { id: 'slb-1', accountId: 'acc-1', regionId: 'r1', addressType: 'internet' })
    })

    it('reads, updates and deletes an SLB', async () => {
      expect((await call('GET', '/v1/slbs/slb-1')).body.addressType).toBe('internet')
      expect((await call('GET', '/v1/slbs')).body.slbs).toHaveLength(1)

      const updated = await call('PATCH', '/v1/slbs/slb-1', { addressType: 'intranet', version: 1 })
      expect(updated.status).toBe(200)
      expect(updated.body.version).toBe(2)

      expect((await call('DELETE', '/v1/slbs/slb-1')).status).toBe(204)
    })

    it('binds once and returns the binding again', async () => {
      const first = await call('PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })
      const again = await call('PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })

      expect(first.status).toBe(201)
      expect(first.headers.location).toBe('/v1/slbs/slb-1/binding')
      expect(first.body).toEqual({ slbId: 'slb-1', clusterId: 'c1', version: 1 })
      expect(again.status).toBe(200)
      expect((await call('GET', '/v1/slbs/slb-1/binding')).body.clusterId).toBe('c1')
      expect((await call('GET', '/v1/bindings')).body.bindings).toHaveLength(1)
    })

    it('rejects binding a bound cluster to another SLB', async () => {
      await call('POST', '/v1/slbs', { id: 'slb-2', accountId: 'acc-1', regionId: 'r1', addressType: 'intranet' })
      await call('PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })

      const res = await call('PUT', '/v1/slbs/slb-2/binding', { clusterId: 'c1' })

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_CLUSTER_ALREADY_BOUND')
      expect(res.body.error.field).toBe('clusterId')
    })

    it('rejects binding across regions', async () => {
      await call('POST', '/v1/slbs', { id: 'slb-r2', accountId: 'acc-1', regionId: 'r2', addressType: 'internet' })

      const res = await call('PUT', '/v1/slbs/slb-r2/binding', { clusterId: 'c1' })

      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('GW_CTL_SLB_REGION_MISMATCH')
    })

    it('rejects deleting a bound SLB', async () => {
      await call('PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })

      const res = await call('DELETE', '/v1/slbs/slb-1')

      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('GW_CTL_SLB_BOUND')
    })

    it('unbinds', async () => {
      await call('PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })

      expect((await call('DELETE', '/v1/slbs/slb-1/binding?version=1')).status).toBe(204)
      expect((await call('GET', '/v1/slbs/slb-1/binding')).status).toBe(404)
      expect((await call('DELETE', '/v1/slbs/slb-1/binding')).status).toBe(404)
    })

    it('rejects a malformed binding body', async () => {
      const res = await call('PUT', '/v1/slbs/slb-1/binding', { cluster: 'c1' })

      expect(res.status).toBe(400)
      expect(res.body.error.problems.map((p: { field: string }) => p.field)).toEqual(['cluster', 'clusterId'])
    })
  })

  describe('protocol errors', () => {
    it('rejects invalid JSON', async () => {
      const res = await call('POST', '/v1/accounts', '{"id": ')

      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('GW_ADMIN_INVALID_JSON')
    })

    it('rejects a non-JSON content type', async () => {
      const res = await call('POST', '/v1/accounts', 'id=acc-1', { 'content-type': 'application/x-www-form-urlencoded' })

      expect(res.status).toBe(415)
      expect(res.body.error.code).toBe('GW_ADMIN_UNSUPPORTED_MEDIA_TYPE')
    })

    it('reports a missing body as invalid input', async () => {
      const res = await call('POST', '/v1/accounts')

      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('GW_CTL_INVALID')
    })

    it('answers an unknown route', async () => {
      const res = await call('GET', '/v1/nothing')

      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('GW_ADMIN_NOT_FOUND')
    })

    it('answers a wrong method with Allow', async () => {
      const res = await call('PATCH', '/v1/accounts/acc-1', {})

      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('DELETE, GET, HEAD')
      expect(res.body.error.code).toBe('GW_ADMIN_METHOD_NOT_ALLOWED')
    })

    it('rejects a declared body over 1 MiB', async () => {
      const head = `POST /v1/accounts HTTP/1.1\r\nhost: admin\r\ncontent-type: application/json\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n{`

      const text = await sendRaw(admin.port, head)

      expect(text).toMatch(/^HTTP\/1\.1 413 /)
      expect(text).toContain('GW_ADMIN_BODY_TOO_LARGE')
    })

    it('rejects a streamed body over 1 MiB', async () => {
      const chunk = 'x'.repeat(256 * 1024)
      const chunked = Array.from({ length: 5 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')
      const head = 'POST /v1/accounts HTTP/1.1\r\nhost: admin\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n'

      const text = await sendRaw(admin.port, head + chunked)

      expect(text).toMatch(/^HTTP\/1\.1 413 /)
      expect(text).toContain('connection: close')
    })

    it('hides unexpected errors behind a request id', async () => {
      await admin.close()
      const broken = new ControlService({ store: new BrokenStore() })
      await broken.start()
      await startAdmin(broken)

      const res = await call('POST', '/v1/accounts', { id: 'acc-1' })

      expect(res.status).toBe(500)
      expect(res.body.error.code).toBe('GW_ADMIN_INTERNAL')
      expect(JSON.stringify(res.body)).not.toContain('simulated store fault')
      expect(Object.keys(res.body.error)).toEqual(['code', 'message'])
      const logged = lines.find((l) => l.msg === 'admin request failed unexpectedly')
      expect(logged?.level).toBe('error')
      expect(logged?.reqId).toBe(res.headers['x-request-id'])
    })

    it('answers control routes when control is off', async () => {
      await admin.close()
      await startAdmin(undefined)

      const res = await call('GET', '/v1/clusters')

      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('GW_ADMIN_CONTROL_DISABLED')
    })
  })
})
