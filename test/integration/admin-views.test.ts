import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js'
import { GatewayMetrics } from '../../src/admin/gateway-metrics.js'
import type { DiscoveryProvider, ProviderStatus } from '../../src/discovery/types.js'
import { ingressYaml, memoryLogger, send, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

/** A discovery source that emits nothing and reports whatever status the test sets. */
class FakeProvider implements DiscoveryProvider {
  readonly source = 'fake'
  state: ProviderStatus = { source: 'fake', reachable: true, lastSuccessAt: Date.UTC(2024, 0, 1), watched: 0 }
  setWatched(): void {}
  onChange(): void {}
  status(): ProviderStatus {
    return this.state
  }
  async close(): Promise<void> {}
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.]+(e[+-]?\d+)?|NaN|\+Inf|-Inf)( -?\d+)?$/

/** Checks Prometheus text format 0.0.4 and returns the samples by family name. */
function parsePrometheusText(text: string): Map<string, string[]> {
  const help = new Set<string>()
  const types = new Map<string, string>()
  const samples = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)
    if (comment !== null) {
      if (comment[1] === 'HELP') help.add(comment[2]!)
      else types.set(comment[2]!, comment[3]!)
      continue
    }
    const sample = SAMPLE.exec(line)
    if (sample === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const name = sample[1]!
    const base = name.replace(/_(bucket|sum|count)$/, '')
    const family = types.has(name) ? name : base
    if (!types.has(family)) throw new Error(`sample ${name} has no TYPE line`)
    if (!help.has(family)) throw new Error(`sample ${name} has no HELP line`)
    samples.set(family, [...(samples.get(family) ?? []), line])
  }
  return samples
}

describe('admin API gateway views', () => {
  let gw: RunningGateway
  let admin: AdminServer
  let app: TestUpstream
  let paused: TestUpstream
  let release: (() => void) | undefined
  const provider = new FakeProvider()
  const metrics = new GatewayMetrics({ dataPlane: () => gw?.gateway.dataPlane })

  async function getJson(path: string): Promise<{ status: number; body: any }> {
    const res = await send(admin.port, { path })
    return { status: res.status, body: JSON.parse(res.body) }
  }

  beforeAll(async () => {
    app = await startUpstream('app')
    paused = await startUpstream('paused', (_req, res) => {
      release = () => res.end('released')
    })
    const rules = ingressYaml('shop', [
      { host: 'app.test', paths: [{ path: '/', type: 'Prefix', service: 'app' }, { path: '/slow', type: 'Exact', service: 'paused' }] },
      { host: '*.apps.test', paths: [{ path: '/', type: 'Prefix', service: 'app' }] },
    ])
    gw = await startGateway({
      config: ['listeners: [{ name: web, address: 127.0.0.1, port: 0 }]', 'rules: [rules.yaml]', 'services:', `  app: { endpoints: [${app.address}] }`, `  paused: { endpoints: [${paused.address}] }`].join('\n'),
      files: { 'rules.yaml': rules },
      options: { onRecord: metrics.observe, providers: [provider] },
    })
    const { log } = memoryLogger()
    admin = await startAdminServer({ config: { address: '127.0.0.1', port: 0 }, gateway: gw.gateway, metrics, log })
  })

  afterAll(async () => {
    release?.()
    await admin.close()
    await gw.stop()
    await app.close()
    await paused.close()
  })

  it('lists listeners with bound ports', async () => {
    const { body } = await getJson('/v1/listeners')

    expect(body.listeners).toEqual([{ name: 'web', protocol: 'http', address: '127.0.0.1', port: gw.port, bound: true }])
  })

  it('lists routes with file and line', async () => {
    const { body } = await getJson('/v1/routes')

    expect(body.generation).toBe(gw.gateway.dataPlane.generation)
    expect(body.routes).toHaveLength(3)
    expect(body.routes[0].file).toMatch(/rules\.yaml$/)
    expect(body.routes[0].line).toBeGreaterThan(0)
    expect(body.routes[0].service).toBe('app')
    expect(body.rejected).toEqual([])
  })

  it('explains a matching request', async () => {
    const { status, body } = await getJson('/v1/routes/explain?host=shop.apps.test&path=/cart')

    expect(status).toBe(200)
    expect(body.hostMatch).toBe('wildcard')
    expect(body.route.host).toBe('*.apps.test')
    expect(body.reason).toContain('wildcard host *.apps.test')
  })

  it('explains a request no rule matches', async () => {
    const { status, body } = await getJson('/v1/routes/explain?host=other.test&path=/')

    expect(status).toBe(404)
    expect(body.error.code).toBe('GW_ROUTE_NOT_FOUND')
    expect(body.matched).toBe(false)
    expect(body.reason).toContain('no rule names host other.test')
  })

  it('requires a host to explain', async () => {
    const { status, body } = await getJson('/v1/routes/explain?path=/')

    expect(status).toBe(400)
    expect(body.error.code).toBe('GW_ADMIN_INVALID_QUERY')
  })

  it('shows in-flight requests per endpoint', async () => {
    const pending = send(gw.port, { host: 'app.test', path: '/slow' })
    await waitFor(() => paused.requests.length > 0, 5_000, 'request at the paused upstream')

    const during = await getJson(`/v1/endpoints/${encodeURIComponent('paused')}`)
    release!()
    expect((await pending).body).toBe('released')
    const after = await getJson('/v1/endpoints/paused')

    expect(during.body.endpoints[0]).toMatchObject({ address: paused.address, weight: 1, health: 'passing', available: true, inflight: 1, source: 'static' })
    expect(after.body.endpoints[0].inflight).toBe(0)
    expect(after.body.revision).toBeGreaterThan(0)
  })

  it('lists endpoints of every service', async () => {
    const { body } = await getJson('/v1/endpoints')

    expect(body.services.map((s: { service: string }) => s.service)).toEqual(['app', 'paused'])
  })

  it('reports an unknown service', async () => {
    const { status, body } = await getJson('/v1/endpoints/nothing')

    expect(status).toBe(404)
    expect(body.error.code).toBe('GW_ADMIN_NOT_FOUND')
  })

  it('shows discovery status', async () => {
    const { body } = await getJson('/v1/discovery')

    expect(body.providers).toEqual([{ source: 'fake', reachable: true, lastSuccessAt: '2024-01-01T00:00:00.000Z', watched: 0 }])
  })

  it('answers health and readiness', async () => {
    expect((await send(admin.port, { path: '/healthz' })).status).toBe(200)
    const ready = await getJson('/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.ready).toBe(true)
  })

  it('stays ready on last known endpoints', async () => {
    provider.state = { ...provider.state, reachable: false, lastError: 'connection refused' }
    try {
      const { status, body } = await getJson('/readyz')

      expect(status).toBe(200)
      expect(body.warnings[0]).toContain('discovery source fake is unreachable')
    } finally {
      provider.state = { ...provider.state, reachable: true }
    }
  })

  it('is not ready without any endpoints from discovery', async () => {
    const saved = provider.state
    provider.state = { source: 'fake', reachable: false, lastError: 'connection refused', watched: 1 }
    try {
      const { status, body } = await getJson('/readyz')

      expect(status).toBe(503)
      expect(body.reasons[0]).toContain('has delivered no endpoints yet: connection refused')
    } finally {
      provider.state = saved
    }
  })

  it('exposes valid Prometheus text that counts requests', async () => {
    const res = await send(gw.port, { host: 'app.test', path: '/items' })
    expect(res.status).toBe(200)

    const scrape = await send(admin.port, { path: '/metrics' })
    const families = parsePrometheusText(scrape.body)

    expect(scrape.headers['content-type']).toContain('text/plain')
    const requests = families.get('portway_requests_total') ?? []
    const appOk = requests.find((l) => l.includes('route="default/shop#0.0"') && l.includes('code="200"'))
    expect(appOk).toMatch(/listener="web"/)
    expect(appOk).toMatch(/status_class="2xx"/)
    expect(appOk).toMatch(/ [1-9]\d*$/)
    expect(families.get('portway_routes')).toEqual(['portway_routes 3'])
    expect(families.get('portway_endpoint_available')).toContain(`portway_endpoint_available{service="app",endpoint="${app.address}"} 1`)
    expect(families.has('portway_request_duration_seconds')).toBe(true)
    expect(families.has('portway_upstream_response_seconds')).toBe(true)
    expect(families.has('process_cpu_user_seconds_total')).toBe(true)
  })
})
