import { afterEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, waitFor } from '../support/gateway-harness.js'
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

describe('worker processes', () => {
  let gateway: GatewayProcess | undefined
  let upstream: TestUpstream | undefined

  afterEach(async () => {
    gateway?.cleanup()
    await upstream?.close()
  })

  it('serve requests and stop on SIGTERM', async () => {
    upstream = await startUpstream('web')
    const port = await closedPort()
    const adminPort = await closedPort()
    gateway = spawnGateway({
      'rules.yaml': ingressYaml('web', [{ host: 'app.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]),
      'gateway.yaml': [
        'workers: 2',
        `listeners: [{ name: web, address: 127.0.0.1, port: ${port} }]`,
        'rules: [rules.yaml]',
        `admin: { address: 127.0.0.1, port: ${adminPort} }`,
        'control: { file: control.json }',
        'timeouts: { shutdownMs: 1000 }',
        'services:',
        `  web: { endpoints: [${upstream.address}] }`,
      ].join('\n'),
    })
    await waitFor(async () => (await send(port, { host: 'app.test' }).catch(() => ({ status: 0 }))).status === 200, 15_000, 'workers to serve')
    for (let i = 0; i < 40; i++) expect((await send(port, { host: 'app.test' })).status).toBe(200)

    const output = gateway.output
    const accessPids = (): Set<string> => new Set([...output().matchAll(/"pid":(\d+)[^\n]*"kind":"access"/g)].map((m) => m[1]!))
    await waitFor(() => accessPids().size === 2, 3_000, 'access records from both workers')

    const metrics = await send(adminPort, { host: '127.0.0.1', path: '/metrics' })
    const served = /portway_requests_total\{[^}]*code="200"\} (\d+)/.exec(metrics.body)
    expect(Number(served?.[1])).toBeGreaterThanOrEqual(41)

    const endpoints = JSON.parse((await send(adminPort, { host: '127.0.0.1', path: '/v1/endpoints' })).body) as { services: Array<{ service: string; endpoints: Array<{ available: boolean }> }> }
    expect(endpoints.services.map((s) => s.service)).toEqual(['web'])
    expect(endpoints.services[0]?.endpoints[0]?.available).toBe(true)

    gateway.child.kill('SIGTERM')
    expect(await gateway.exited()).toBe(0)
  }, 30_000)
})
