import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, waitFor } from '../support/gateway-harness.js'
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

describe('gateway process signals', () => {
  let gateway: GatewayProcess | undefined
  let upstream: TestUpstream | undefined

  afterEach(async () => {
    gateway?.cleanup()
    await upstream?.close()
  })

  it('reopens logs and reloads on SIGHUP, exits 0 on SIGTERM', async () => {
    upstream = await startUpstream('web')
    const port = await closedPort()
    gateway = spawnGateway({
      'rules.yaml': ingressYaml('web', [{ host: 'a.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]),
      'gateway.yaml': [
        `listeners: [{ name: web, address: 127.0.0.1, port: ${port} }]`,
        'rules: [rules.yaml]',
        'admin: false',
        'control: { file: control.json }',
        'logging: { destination: gateway.log }',
        'services:',
        `  web: { endpoints: [${upstream.address}] }`,
      ].join('\n'),
    })
    await waitFor(async () => (await send(port, { host: 'a.test' }).catch(() => ({ status: 0 }))).status === 200, 15_000, 'gateway to serve')

    const dir = gateway.dir
    const log = (): string => readFileSync(join(dir, 'gateway.log'), 'utf8')
    writeFileSync(join(dir, 'rules.yaml'), ingressYaml('web', [{ host: 'b.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]))
    gateway.child.kill('SIGHUP')
    await waitFor(() => log().includes('log file reopened'), 5_000, 'SIGHUP log line')
    await waitFor(async () => (await send(port, { host: 'b.test' })).status === 200, 5_000, 'reloaded rules')
    expect(gateway.child.exitCode).toBeNull()

    gateway.child.kill('SIGTERM')
    expect(await gateway.exited()).toBe(0)
  }, 30_000)
})
