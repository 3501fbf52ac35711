import { describe, expect, it } from 'vitest'
import { GatewayMetrics } from '../../../src/admin/gateway-metrics.js'
import type { IngressSpec } from '../../../src/ingress/model.js'
import { compileRoutes } from '../../../src/ingress/routing-table.js'
import type { AccessRecord, DataPlane } from '../../../src/proxy/http-handler.js'
import type { UpstreamRegistry } from '../../../src/proxy/upstream-pool.js'

function record(overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    kind: 'access',
    reqId: 'r1',
    listener: 'web',
    client: '127.0.0.1',
    method: 'GET',
    authority: 'app.test',
    path: '/',
    proto: 'h1',
    status: 200,
    route: 'ns/app#0.0',
    service: 'app',
    attempts: 1,
    bytesIn: 0,
    bytesOut: 10,
    totalMs: 12,
    upstreamMs: 8,
    generation: 1,
    ...overrides,
  }
}

function dataPlane(routeNames: string[]): DataPlane {
  const ingress: IngressSpec = {
    name: 'ns/app',
    file: 'rules.yaml',
    tls: [],
    annotations: {},
    rules: routeNames.map((id, i) => ({ id, ingress: 'ns/app', file: 'rules.yaml', host: 'app.test', path: `/p${i}`, pathType: 'Prefix' as const, backend: { service: 'app' } })),
  }
  // Metrics read only the pool keys and endpoint ids and availability, so a stub is enough.
  const pool = { key: 'app', endpoints: [{ id: '127.0.0.1:9001', available: true }, { id: '127.0.0.1:9002', available: false }] }
  const registry = { pools: () => [pool].values(), get: (key: string) => (key === 'app' ? pool : undefined) } as unknown as UpstreamRegistry
  return { generation: 1, table: compileRoutes([ingress], (b) => ({ service: b.service })).table, registry }
}

async function valueOf(metrics: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get()
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value))
  return sample?.value
}

describe('GatewayMetrics', () => {
  it('counts requests by route and status', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false })

    metrics.observe(record())
    metrics.observe(record())
    metrics.observe(record({ status: 503 }))

    const labels = { listener: 'web', route: 'ns/app#0.0', service: 'app' }
    expect(await valueOf(metrics, 'portway_requests_total', { ...labels, code: '200', status_class: '2xx' })).toBe(2)
    expect(await valueOf(metrics, 'portway_requests_total', { ...labels, code: '503', status_class: '5xx' })).toBe(1)
  })

  it('records durations in seconds', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false })

    metrics.observe(record({ totalMs: 250, upstreamMs: 200 }))

    expect(await valueOf(metrics, 'portway_request_duration_seconds', { route: 'ns/app#0.0', le: '0.25' })).toBe(1)
    expect(await valueOf(metrics, 'portway_request_duration_seconds', { route: 'ns/app#0.0', le: '0.1' })).toBe(0)
    expect(await valueOf(metrics, 'portway_upstream_response_seconds', { service: 'app', le: '0.25' })).toBe(1)
  })

  it('skips upstream time for unrouted requests', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false })

    metrics.observe(record({ route: undefined, service: undefined, status: 404, upstreamMs: undefined }))

    expect(await valueOf(metrics, 'portway_requests_total', { route: '', code: '404' })).toBe(1)
    const upstream = await metrics.registry.getSingleMetric('portway_upstream_response_seconds')?.get()
    expect(upstream?.values).toEqual([])
  })

  it('counts reloads by result', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false })

    metrics.onReload('applied')
    metrics.onReload('applied')

    expect(await valueOf(metrics, 'portway_route_reloads_total', { result: 'applied' })).toBe(2)
    expect(await valueOf(metrics, 'portway_route_reloads_total', { result: 'rejected' })).toBe(0)
  })

  it('drops series of removed routes on reload', async () => {
    let current = dataPlane(['ns/app#0.0', 'ns/app#0.1'])
    const metrics = new GatewayMetrics({ defaultMetrics: false, dataPlane: () => current })
    metrics.observe(record({ route: 'ns/app#0.0' }))
    metrics.observe(record({ route: 'ns/app#0.1' }))

    current = dataPlane(['ns/app#0.1'])
    metrics.onReload('applied')

    expect(await valueOf(metrics, 'portway_requests_total', { route: 'ns/app#0.0' })).toBeUndefined()
    expect(await valueOf(metrics, 'portway_requests_total', { route: 'ns/app#0.1' })).toBe(1)
    metrics.observe(record({ route: 'ns/app#0.1' }))
    expect(await valueOf(metrics, 'portway_requests_total', { route: 'ns/app#0.1' })).toBe(2)
  })

  it('reads gauges at scrape time', async () => {
    const connections = [{ listener: 'web', connections: 3 }]
    const metrics = new GatewayMetrics({
      defaultMetrics: false,
      dataPlane: () => dataPlane(['a', 'b']),
      openConnections: () => connections,
    })

    expect(await valueOf(metrics, 'portway_routes', {})).toBe(2)
    expect(await valueOf(metrics, 'portway_open_connections', { listener: 'web' })).toBe(3)
    expect(await valueOf(metrics, 'portway_endpoint_available', { service: 'app', endpoint: '127.0.0.1:9001' })).toBe(1)
    expect(await valueOf(metrics, 'portway_endpoint_available', { service: 'app', endpoint: '127.0.0.1:9002' })).toBe(0)
  })

  it('keeps registries apart', async () => {
    const first = new GatewayMetrics()
    const second = new GatewayMetrics()

    first.observe(record())

    expect(await valueOf(first, 'portway_requests_total', { code: '200' })).toBe(1)
    expect(await valueOf(second, 'portway_requests_total', { code: '200' })).toBeUndefined()
    expect(await first.render()).toContain('process_cpu_user_seconds_total')
  })
})
