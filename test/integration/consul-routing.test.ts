import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConsulProvider } from '../../src/discovery/consul-provider.js'
import { ConsulDouble } from '../support/consul-double.js'
import { memoryLogger, send, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

const RULES = [
  'apiVersion: networking.k8s.io/v1',
  'kind: Ingress',
  'metadata: { name: web }',
  'spec:',
  '  rules:',
  '    - host: web.test',
  '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
].join('\n') + '\n'

describe('routing to Consul services', () => {
  let consul: ConsulDouble
  let gw: RunningGateway
  let upstreams: TestUpstream[]

  beforeEach(async () => {
    consul = await ConsulDouble.start()
    upstreams = [await startUpstream('web-1'), await startUpstream('web-2')]
    const { log } = memoryLogger()
    const provider = new ConsulProvider({
      address: consul.address,
      waitMs: 2_000,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
      churnBurst: 50,
      churnRefillMs: 50,
      timeoutMarginMs: 500,
      logger: log,
      env: {},
    })
    gw = await startGateway({
      config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nconsul: { address: "${consul.address}" }\nrules: [rules.yaml]\n`,
      files: { 'rules.yaml': RULES },
      options: { providers: [provider], watch: false },
    })
  })

  afterEach(async () => {
    await gw.stop()
    await consul.stop()
    for (const u of upstreams) await u.close()
  })

  function register(u: TestUpstream, status: 'passing' | 'critical' = 'passing'): void {
    consul.register({ ID: u.name, Name: 'web', Address: '127.0.0.1', Port: u.port, Check: { TTL: '60s', Status: status } })
  }

  async function upstreamsSeen(n: number): Promise<Set<string>> {
    const seen = new Set<string>()
    for (let i = 0; i < n; i++) seen.add(String((await send(gw.port, { host: 'web.test' })).headers['x-upstream']))
    return seen
  }

  it('follows registrations, failures and removals', async () => {
    expect((await send(gw.port, { host: 'web.test' })).status).toBe(503)
    const started = Date.now()
    register(upstreams[0]!)
    await waitFor(async () => (await send(gw.port, { host: 'web.test' })).status === 200, 2_000, 'first instance')
    expect(Date.now() - started).toBeLessThan(1_000)
    register(upstreams[1]!)
    await waitFor(async () => (await upstreamsSeen(4)).size === 2, 2_000, 'second instance')
    consul.setCheckStatus('service:web-1', 'critical')
    await waitFor(async () => [...(await upstreamsSeen(4))].join() === 'web-2', 2_000, 'critical instance to leave')
    const before = upstreams[0]!.requests.length
    await upstreamsSeen(10)
    expect(upstreams[0]!.requests.length).toBe(before)
    consul.deregister('web-2')
    consul.deregister('web-1')
    await waitFor(async () => (await send(gw.port, { host: 'web.test' })).status === 503, 2_000, '503 after deregistration')
    const res = await send(gw.port, { host: 'web.test' })
    expect(res.headers['x-portway-error']).toBe('GW_UPSTREAM_NO_ENDPOINT')
    expect(res.body).toContain('web@consul')
  })

  it('keeps routing while Consul is down', async () => {
    register(upstreams[0]!)
    await waitFor(async () => (await send(gw.port, { host: 'web.test' })).status === 200, 2_000, 'first instance')
    await consul.closeListener()
    await waitFor(() => gw.gateway.providerStatus()[0]?.reachable === false, 5_000, 'provider to notice the outage')
    for (let i = 0; i < 10; i++) expect((await send(gw.port, { host: 'web.test' })).status).toBe(200)
    register(upstreams[1]!)
    await consul.restart()
    await waitFor(async () => (await upstreamsSeen(4)).size === 2, 5_000, 'resync after restart')
    expect(gw.gateway.providerStatus()[0]?.reachable).toBe(true)
  })
})
