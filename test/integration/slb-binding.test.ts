import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load-config.js'
import { startRuntime, type Runtime } from '../../src/runtime.js'
import { ConsulDouble } from '../support/consul-double.js'
import { memoryLogger, send, waitFor } from '../support/gateway-harness.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

const ingressFor = (cluster: string, host: string): string => [
  'apiVersion: networking.k8s.io/v1',
  'kind: Ingress',
  `metadata: { name: web, namespace: ${cluster} }`,
  'spec:',
  '  rules:',
  `    - host: ${host}`,
  '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
].join('\n')

interface AdminCall {
  status: number
  body: { error?: { code: string } } & Record<string, unknown>
}

function admin(port: number, method: string, path: string, body?: unknown): Promise<AdminCall> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

describe('SLB binding drives the data plane', () => {
  const cleanup: Array<() => Promise<void> | void> = []

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  async function runtimeFor(slbId: string, store: string, consulAddress?: string): Promise<Runtime> {
    const dir = mkdtempSync(join(tmpdir(), 'portway-slb-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const files = { c1: ingressFor('c1', 'one.test'), c2: ingressFor('c2', 'two.test') }
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(dir, 'rules.yaml'), `${files.c1}\n---\n${files.c2}\n`)
    const text = [
      'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]',
      'rules: [rules.yaml]',
      'admin: { address: 127.0.0.1, port: 0 }',
      `control: { slbId: ${slbId}, listenAddress: 127.0.0.1, ${store} }`,
      'timeouts: { shutdownMs: 500 }',
      ...(consulAddress === undefined ? [] : [`consul: { address: "${consulAddress}" }`]),
    ].join('\n')
    const result = parseConfig(join(dir, 'gateway.yaml'), text, dir)
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    const runtime = await startRuntime(result.config, memoryLogger().log, { watch: false, providers: [] })
    cleanup.push(() => runtime.stop())
    return runtime
  }

  async function seedCluster(port: number, cluster: string, upstream: TestUpstream, tcpPort?: number): Promise<void> {
    await admin(port, 'POST', '/v1/accounts', { id: 'acc-1' })
    await admin(port, 'POST', '/v1/regions', { id: 'r1', zones: ['z1'] })
    const cl = await admin(port, 'POST', '/v1/clusters', { id: cluster, accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1'] })
    expect(cl.body.error).toBeUndefined()
    expect(cl.status).toBe(201)
    const ports = tcpPort === undefined ? [{ name: 'http', port: await closedPort(), protocol: 'http' }] : [{ name: 'raw', port: tcpPort, protocol: 'tcp' }]
    const created = await admin(port, 'POST', `/v1/clusters/${cluster}/services`, { name: 'web', ports, source: { kind: 'static', endpoints: [{ host: '127.0.0.1', port: upstream.port }] } })
    expect(created.body.error).toBeUndefined()
    expect(created.status).toBe(201)
  }

  it('serves the bound cluster and nothing when unbound', async () => {
    const upstream = await startUpstream('c1-web', (req, res) => {
      req.resume()
      res.writeHead(200, { 'x-upstream': 'c1-web' })
      res.end('hello')
    })
    cleanup.push(() => upstream.close())
    const runtime = await runtimeFor('slb-1', `file: ${'control.json'}`)
    const port = runtime.gateway.listeners[0]!.port
    const adminPort = runtime.admin!.port
    const unbound = await send(port, { host: 'one.test' })
    expect(unbound.status).toBe(503)
    expect(unbound.headers['x-portway-error']).toBe('GW_LISTEN_UNBOUND')

    const tcpPort = await closedPort()
    await seedCluster(adminPort, 'c1', upstream, tcpPort)
    await admin(adminPort, 'POST', '/v1/slbs', { id: 'slb-1', accountId: 'acc-1', regionId: 'r1', addressType: 'intranet' })
    expect((await admin(adminPort, 'PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })).status).toBe(201)
    await waitFor(async () => (await send(port, { host: 'one.test' })).status === 200, 3_000, 'bound cluster to serve')
    expect((await send(port, { host: 'two.test' })).status).toBe(404)
    const viaTcp = await new Promise<string>((resolve, reject) => {
      let text = ''
      const socket = connect(tcpPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'))
      socket.on('data', (d) => (text += String(d)))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(viaTcp).toMatch(/^HTTP\/1\.1 200/)

    expect((await admin(adminPort, 'DELETE', '/v1/slbs/slb-1/binding')).status).toBe(204)
    await waitFor(async () => (await send(port, { host: 'one.test' })).status === 503, 3_000, 'unbound gateway to answer 503')
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(tcpPort, '127.0.0.1')
      socket.on('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)
  })

  it('rebinding one SLB fails no request on another', async () => {
    const consul = await ConsulDouble.start()
    cleanup.push(() => consul.stop())
    const [u1, u2] = [await startUpstream('c1-web'), await startUpstream('c2-web')]
    cleanup.push(() => u1.close(), () => u2.close())
    const store = 'store: consul, consulPrefix: test/control'
    const first = await runtimeFor('slb-1', store, consul.address)
    const second = await runtimeFor('slb-2', store, consul.address)
    const adminPort = first.admin!.port
    await seedCluster(adminPort, 'c1', u1)
    expect((await admin(adminPort, 'POST', '/v1/clusters', { id: 'c2', accountId: 'acc-1', regionId: 'r1', vpcId: 'vpc-1', zones: ['z1'] })).status).toBe(201)
    const c2Port = await closedPort()
    const c2 = await admin(adminPort, 'POST', '/v1/clusters/c2/services', { name: 'web', ports: [{ name: 'http', port: c2Port, protocol: 'http' }], source: { kind: 'static', endpoints: [{ host: '127.0.0.1', port: u2.port }] } })
    expect(c2.status).toBe(201)
    for (const slb of ['slb-1', 'slb-2']) await admin(adminPort, 'POST', '/v1/slbs', { id: slb, accountId: 'acc-1', regionId: 'r1', addressType: 'internet' })
    await admin(adminPort, 'PUT', '/v1/slbs/slb-2/binding', { clusterId: 'c2' })
    const secondPort = second.gateway.listeners[0]!.port
    await waitFor(async () => (await send(secondPort, { host: 'two.test' })).status === 200, 5_000, 'second replica to serve c2')
    const direct = await send(c2Port, { host: 'anything.test', path: '/x' })
    expect(direct.status).toBe(200)
    expect(direct.headers['x-upstream']).toBe('c2-web')

    const agent = new Agent({ keepAlive: true, maxSockets: 4 })
    cleanup.push(() => agent.destroy())
    const statuses: number[] = []
    let running = true
    const load = (async () => {
      for (let i = 0; i < 5_000 && (running || i < 200); i++) {
        statuses.push(await new Promise<number>((resolve) => {
          const req = httpRequest({ host: '127.0.0.1', port: secondPort, headers: { host: 'two.test' }, agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', () => resolve(-1))
          req.end()
        }))
      }
    })()
    const firstPort = first.gateway.listeners[0]!.port
    for (let round = 0; round < 3; round++) {
      await admin(adminPort, 'PUT', '/v1/slbs/slb-1/binding', { clusterId: 'c1' })
      await waitFor(async () => (await send(firstPort, { host: 'one.test' })).status === 200, 5_000, 'first replica to serve c1')
      await admin(adminPort, 'DELETE', '/v1/slbs/slb-1/binding')
      await waitFor(async () => (await send(firstPort, { host: 'one.test' })).status === 503, 5_000, 'first replica to unbind')
    }
    running = false
    await load
    expect(statuses.length).toBeGreaterThan(50)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })
})
