import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js'
import { GatewayMetrics } from '../../src/admin/gateway-metrics.js'
import { runEndpointsCommand } from '../../src/endpoints-command.js'
import { ingressYaml, memoryLogger, startGateway, type RunningGateway } from '../support/gateway-harness.js'
import { closedPort } from '../support/upstreams.js'

describe('portway endpoints', () => {
  let gw: RunningGateway
  let admin: AdminServer

  beforeAll(async () => {
    const dead = await closedPort()
    gw = await startGateway({
      config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nrules: [r.yaml]\nservices:\n  web: { endpoints: ["127.0.0.1:${dead}", { address: "127.0.0.1:${dead + 1}", weight: 0 }] }\n`,
      files: { 'r.yaml': ingressYaml('r', [{ paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]) },
      options: { watch: false },
    })
    admin = await startAdminServer({ config: { address: '127.0.0.1', port: 0 }, gateway: gw.gateway, metrics: new GatewayMetrics({ defaultMetrics: false }), log: memoryLogger().log })
  })

  afterAll(async () => {
    await admin.close()
    await gw.stop()
  })

  it('lists services and endpoints', async () => {
    const lines: string[] = []
    const code = await runEndpointsCommand(['--admin', `http://127.0.0.1:${admin.port}`], (l) => lines.push(l))
    expect(code).toBe(0)
    expect(lines[0]).toBe('web  (weighted-round-robin)  healthy 1/1')
    expect(lines[1]).toMatch(/^ {2}127\.0\.0\.1:\d+ +weight 1 +inflight 0 +static +in rotation, source passing$/)
    expect(lines[2]).toMatch(/weight 0 .*out of rotation/)
  })

  it('fails clearly without an admin API', async () => {
    const lines: string[] = []
    const code = await runEndpointsCommand(['--admin', `http://127.0.0.1:${await closedPort()}`], (l) => lines.push(l))
    expect(code).toBe(1)
    expect(lines[0]).toContain('cannot reach the admin API')
  })
})
