import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

describe('graceful shutdown', () => {
  let gw: RunningGateway | undefined
  let upstream: TestUpstream | undefined

  afterEach(async () => {
    await upstream?.close()
  })

  async function start(shutdownMs: number, delayMs: number, engine = 'undici'): Promise<RunningGateway> {
    upstream = await startUpstream('slow', (_req, res) => {
      setTimeout(() => res.end('done'), delayMs).unref()
    })
    return startGateway({
      config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nproxy: { engine: ${engine} }\ntimeouts: { shutdownMs: ${shutdownMs} }\nrules: [r.yaml]\nservices:\n  slow: { endpoints: [${upstream.address}] }\n`,
      files: { 'r.yaml': ingressYaml('r', [{ paths: [{ path: '/', type: 'Prefix', service: 'slow' }] }]) },
      options: { watch: false },
    })
  }

  it.each(['undici', 'http-proxy'])('lets in-flight requests finish (%s)', async (engine) => {
    gw = await start(5_000, 300, engine)
    const inflight = send(gw.port, { host: 'any.test' })
    await waitFor(() => upstream!.requests.length === 1, 2_000, 'request to reach the upstream')
    const stopped = gw.gateway.stop()
    const res = await inflight
    await stopped
    expect(res.status).toBe(200)
    expect(res.body).toBe('done')
    expect(res.headers.connection).toBe('close')
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(gw!.port, '127.0.0.1')
      socket.on('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)
    expect(gw.lines.some((l) => l.msg === 'gateway stopped')).toBe(true)
  })

  it('closes requests still open at the deadline', async () => {
    gw = await start(200, 10_000)
    const inflight = send(gw.port, { host: 'any.test' }).then(
      () => 'answered',
      () => 'closed',
    )
    await waitFor(() => upstream!.requests.length === 1, 2_000, 'request to reach the upstream')
    await gw.gateway.stop()
    expect(await inflight).toBe('closed')
    expect(gw.lines.some((l) => String(l.msg).startsWith('shutdown deadline reached'))).toBe(true)
    expect(gw.lines.some((l) => l.kind === 'access' && l.flag === 'downstream_aborted')).toBe(true)
  })
})
