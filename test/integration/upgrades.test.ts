import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { sendRaw, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

const RULES = (annotations = ''): string => [
  'apiVersion: networking.k8s.io/v1',
  'kind: Ingress',
  `metadata: { name: ws${annotations === '' ? '' : `, annotations: { ${annotations} }`} }`,
  'spec:',
  '  rules:',
  '    - host: ws.test',
  '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ws, port: { number: 80 } } } }] }',
].join('\n') + '\n'

const UPGRADE = 'GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'

describe('WebSocket and other upgrades', () => {
  const cleanup: Array<() => Promise<void> | void> = []

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  async function gateway(upstreamAddress: string, annotations = '', listenerExtra = '', timeouts = ''): Promise<RunningGateway> {
    const gw = await startGateway({
      config: [
        `listeners: [{ name: web, address: 127.0.0.1, port: 0${listenerExtra} }]`,
        `timeouts: { shutdownMs: 300${timeouts} }`,
        'rules: [rules.yaml]',
        'services:',
        `  ws: { endpoints: ["${upstreamAddress}"] }`,
      ].join('\n'),
      files: { 'rules.yaml': RULES(annotations) },
      options: { watch: false },
    })
    cleanup.push(() => gw.stop())
    return gw
  }

  let wssClients = (): number => 0

  async function wsUpstream(): Promise<TestUpstream> {
    const upstream = await startUpstream('ws')
    const wss = new WebSocketServer({ server: upstream.server })
    wssClients = () => wss.clients.size
    wss.on('connection', (socket) => socket.on('message', (m) => socket.send(`echo:${String(m)}`)))
    cleanup.push(() => upstream.close(), () => wss.close())
    return upstream
  }

  it.each([
    ['listener deny list', '', ', denyCidrs: [127.0.0.0/8]'],
    ['route allow list', 'portway.io/allow-cidrs: "10.0.0.0/8"', ''],
  ])('upgrade obeys the %s', async (_name, annotations, listenerExtra) => {
    const upstream = await wsUpstream()
    const gw = await gateway(upstream.address, annotations, listenerExtra)
    const reply = await sendRaw(gw.port, UPGRADE)
    expect(reply).toMatch(/^HTTP\/1\.1 403 /)
    expect(reply).toContain('GW_ROUTE_DENIED')
    expect(upstream.requests).toHaveLength(0)
  })

  it('times out an upgrade the upstream never answers', async () => {
    const sockets: Socket[] = []
    let closedUpstream = 0
    const silent: Server = createServer((s) => {
      sockets.push(s)
      s.resume()
      s.on('close', () => closedUpstream++)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      silent.close(() => r())
    }))
    const gw = await gateway(`127.0.0.1:${(silent.address() as { port: number }).port}`, '', '', ', upstreamResponseMs: 300')
    const reply = await sendRaw(gw.port, UPGRADE)
    expect(reply).toMatch(/^HTTP\/1\.1 504 /)
    expect(sockets).toHaveLength(1)
    await waitFor(() => closedUpstream === 1, 2_000, 'upstream socket to close')
  })

  it('records a refused upgrade with the upstream status', async () => {
    const upstream = await startUpstream('ws')
    upstream.server.on('upgrade', (_req, socket: Socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'))
    cleanup.push(() => upstream.close())
    const gw = await gateway(upstream.address)
    const reply = await sendRaw(gw.port, UPGRADE)
    expect(reply).toMatch(/^HTTP\/1\.1 403 /)
    await waitFor(() => gw.lines.some((l) => l.kind === 'access' && l.path === '/chat'), 2_000, 'access record')
    const record = gw.lines.find((l) => l.kind === 'access' && l.path === '/chat')!
    expect(record.status).toBe(403)
    expect(record.flag).toBeUndefined()
  })

  it('shuts down with a WebSocket still open', async () => {
    const upstream = await wsUpstream()
    const gw = await gateway(upstream.address)
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/chat`, { headers: { host: 'ws.test' } })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
    const started = Date.now()
    await gw.gateway.stop()
    await closed
    expect(Date.now() - started).toBeLessThan(3_000)
    await waitFor(() => wssClients() === 0, 2_000, 'upstream WebSocket to close')
  })

  it('serves an h2c upgrade request over HTTP/1.1', async () => {
    const upstream = await startUpstream('ws')
    cleanup.push(() => upstream.close())
    const gw = await gateway(upstream.address)
    const reply = await sendRaw(gw.port, 'GET /plain HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n')
    expect(reply).toMatch(/^HTTP\/1\.1 200 /)
    expect(reply).toContain('"upstream":"ws"')
    expect(upstream.requests[0]?.headers.upgrade).toBeUndefined()
  })
})
