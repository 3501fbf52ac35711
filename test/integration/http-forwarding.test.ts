import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebSocketServer } from 'ws'
import { ingressYaml, send, sendRaw, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

for (const engine of ['undici', 'http-proxy'] as const) {
  describe(`HTTP forwarding (${engine})`, () => {
    let gw: RunningGateway
    let exact: TestUpstream
    let wildcard: TestUpstream
    let slow: TestUpstream
    let bulk: TestUpstream
    let hanging: TestUpstream
    let wsServer: WebSocketServer
    let wsUpstream: TestUpstream
    let abortedUpstream = false

    beforeAll(async () => {
      exact = await startUpstream('exact')
      wildcard = await startUpstream('wildcard')
      slow = await startUpstream('slow', (_req, res) => {
        setTimeout(() => res.end('late'), 3_000).unref()
      })
      hanging = await startUpstream('hanging', (req, res) => {
        req.on('close', () => {
          if (!res.writableEnded) abortedUpstream = true
        })
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('partial')
      })
      bulk = await startUpstream('bulk', (req, res) => {
        const hash = createHash('sha256')
        let bytes = 0
        req.on('data', (c: Buffer) => {
          hash.update(c)
          bytes += c.length
        })
        req.on('end', () => {
          if (req.url === '/download') {
            const payload = Buffer.alloc(10 * 1024 * 1024, 7)
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha256': createHash('sha256').update(payload).digest('hex') })
            res.end(payload)
            return
          }
          res.writeHead(200, { 'content-type': 'application/json', 'connection': 'x-secret-hop', 'x-secret-hop': 'drop-me', 'keep-alive': 'timeout=5' })
          res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }))
        })
      })
      wsUpstream = await startUpstream('ws')
      wsServer = new WebSocketServer({ server: wsUpstream.server })
      wsServer.on('connection', (socket, req) => {
        socket.send(`xff=${String(req.headers['x-forwarded-for'])}`)
        socket.on('message', (data) => socket.send(`echo:${String(data)}`))
      })
      const refused = await closedPort()
      const rules = [
        ingressYaml('hosts', [
          { host: 'app.example.test', paths: [{ path: '/', type: 'Prefix', service: 'exact' }] },
          { host: '*.example.test', paths: [{ path: '/', type: 'Prefix', service: 'wildcard' }] },
        ]),
        ingressYaml('errors', [
          {
            host: 'errors.test',
            paths: [
              { path: '/refused', type: 'Prefix', service: 'refused' },
              { path: '/empty', type: 'Prefix', service: 'empty' },
              { path: '/slow', type: 'Prefix', service: 'slow' },
              { path: '/hang', type: 'Prefix', service: 'hanging' },
              { path: '/bulk', type: 'Prefix', service: 'bulk' },
              { path: '/download', type: 'Exact', service: 'bulk' },
              { path: '/ws', type: 'Prefix', service: 'ws' },
            ],
          },
        ]),
      ]
      gw = await startGateway({
        config: [
          'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]',
          `proxy: { engine: ${engine} }`,
          'timeouts: { upstreamResponseMs: 500 }',
          'rules: [rules.yaml]',
          'services:',
          `  exact: { endpoints: [${exact.address}] }`,
          `  wildcard: { endpoints: [${wildcard.address}] }`,
          `  refused: { endpoints: ["127.0.0.1:${refused}"] }`,
          '  empty: { endpoints: [] }',
          `  slow: { endpoints: [${slow.address}] }`,
          `  hanging: { endpoints: [${hanging.address}] }`,
          `  bulk: { endpoints: [${bulk.address}] }`,
          `  ws: { endpoints: [${wsUpstream.address}] }`,
        ].join('\n'),
        files: { 'rules.yaml': rules.join('---\n') },
      })
    })

    afterAll(async () => {
      await gw.stop()
      wsServer.close()
      for (const u of [exact, wildcard, slow, bulk, hanging, wsUpstream]) await u.close()
    })

    it.each([
      ['exact host', 'app.example.test', 'exact'],
      ['exact host beats wildcard', 'APP.Example.Test', 'exact'],
      ['host with port', 'app.example.test:8443', 'exact'],
      ['host with trailing dot', 'app.example.test.', 'exact'],
      ['wildcard covers one label', 'other.example.test', 'wildcard'],
    ])('%s', async (_name, host, upstream) => {
      const res = await send(gw.port, { host, path: '/x' })
      expect(res.status).toBe(200)
      expect(res.headers['x-upstream']).toBe(upstream)
    })

    it.each([
      ['wildcard does not cover two labels', 'a.b.example.test'],
      ['wildcard does not cover the bare suffix', 'example.test'],
    ])('%s', async (_name, host) => {
      const res = await send(gw.port, { host })
      expect(res.status).toBe(404)
      expect(res.body).toContain('GW_ROUTE_NOT_FOUND')
    })

    it('missing Host header answers 400', async () => {
      const text = await sendRaw(gw.port, 'GET / HTTP/1.0\r\n\r\n')
      expect(text).toMatch(/^HTTP\/1\.[01] 400/)
      expect(text).toContain('GW_ROUTE_MISSING_HOST')
    })

    it('refused upstream answers 502 with a body', async () => {
      const res = await send(gw.port, { host: 'errors.test', path: '/refused' })
      expect(res.status).toBe(502)
      expect(res.headers['x-portway-error']).toBe('GW_UPSTREAM_CONNECT_FAILED')
      expect(res.body).toContain('connection failed')
    })

    it('service without endpoints answers 503 as JSON', async () => {
      const res = await send(gw.port, { host: 'errors.test', path: '/empty', headers: { accept: 'application/json' } })
      expect(res.status).toBe(503)
      const body = JSON.parse(res.body) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('GW_UPSTREAM_NO_ENDPOINT')
      expect(body.error.message).toContain('empty')
    })

    it('slow upstream answers 504', async () => {
      const res = await send(gw.port, { host: 'errors.test', path: '/slow' })
      expect(res.status).toBe(504)
      expect(res.headers['x-portway-error']).toBe('GW_UPSTREAM_TIMEOUT')
    })

    it('X-Forwarded-For chain is appended once', async () => {
      const res = await send(gw.port, { host: 'app.example.test', headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' } })
      const seen = exact.requests.at(-1)!
      expect(res.status).toBe(200)
      expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.2, 127.0.0.1')
      expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-forwarded-for')).toHaveLength(1)
      expect(seen.headers['x-forwarded-proto']).toBe('http')
      expect(seen.headers['x-forwarded-host']).toBe('app.example.test')
      expect(seen.headers.host).toBe('app.example.test')
    })

    it('hop-by-hop headers are removed both ways', async () => {
      const res = await send(gw.port, {
        host: 'errors.test',
        path: '/bulk',
        method: 'POST',
        headers: { connection: 'keep-alive, x-drop', 'x-drop': 'secret', 'keep-alive': 'timeout=1', te: 'trailers', 'x-keep': 'yes' },
        body: 'hello',
      })
      const seen = bulk.requests.at(-1)!
      expect(res.status).toBe(200)
      expect(seen.headers['x-drop']).toBeUndefined()
      expect(seen.headers.te).toBeUndefined()
      expect(seen.headers['keep-alive']).toBeUndefined()
      expect(seen.headers['x-keep']).toBe('yes')
      expect(res.headers['x-secret-hop']).toBeUndefined()
      expect(res.headers['keep-alive']).not.toBe('timeout=5')
    })

    it('streams a 10 MB upload byte for byte', async () => {
      const payload = randomBytes(10 * 1024 * 1024)
      const res = await send(gw.port, { host: 'errors.test', path: '/bulk', method: 'POST', body: payload })
      const body = JSON.parse(res.body) as { bytes: number; sha256: string }
      expect(body.bytes).toBe(payload.length)
      expect(body.sha256).toBe(createHash('sha256').update(payload).digest('hex'))
    })

    it('streams a 10 MB download byte for byte', async () => {
      const result = await new Promise<{ sha: string; expected: string; bytes: number }>((resolve, reject) => {
        const req = httpRequest({ port: gw.port, host: '127.0.0.1', path: '/download', headers: { host: 'errors.test' }, agent: false }, (res) => {
          const hash = createHash('sha256')
          let bytes = 0
          res.on('data', (c: Buffer) => {
            hash.update(c)
            bytes += c.length
          })
          res.on('end', () => resolve({ sha: hash.digest('hex'), expected: String(res.headers['x-sha256']), bytes }))
        })
        req.on('error', reject)
        req.end()
      })
      expect(result.bytes).toBe(10 * 1024 * 1024)
      expect(result.sha).toBe(result.expected)
    })

    it('client abort cancels the upstream request', async () => {
      abortedUpstream = false
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ port: gw.port, host: '127.0.0.1', path: '/hang', headers: { host: 'errors.test' }, agent: false }, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => undefined)
        req.setTimeout(3_000, () => reject(new Error('no response from /hang')))
        req.end()
      })
      await waitFor(() => abortedUpstream, 3_000, 'upstream to see the abort')
      await waitFor(() => gw.lines.some((l) => l.kind === 'access' && l.path === '/hang' && l.flag === 'downstream_aborted'), 3_000, 'access record of the aborted request')
    })

    it('WebSocket upgrade echoes through the gateway', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws`, { headers: { host: 'errors.test' } })
      const messages: string[] = []
      ws.on('message', (data) => messages.push(String(data)))
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
      })
      ws.send('ping')
      await waitFor(() => messages.length >= 2, 3_000, 'two WebSocket messages')
      ws.close()
      expect(messages[0]).toBe('xff=127.0.0.1')
      expect(messages[1]).toBe('echo:ping')
    })

    it('writes one access record per request', async () => {
      const before = gw.lines.filter((l) => l.kind === 'access').length
      const res = await send(gw.port, { host: 'app.example.test', path: '/logged?secret=1' })
      expect(res.status).toBe(200)
      await waitFor(() => gw.lines.filter((l) => l.kind === 'access').length === before + 1, 2_000, 'access record')
      const record = gw.lines.filter((l) => l.kind === 'access').at(-1)!
      expect(record.path).toBe('/logged')
      expect(record.status).toBe(200)
      expect(record.upstream).toBe(exact.address)
      expect(record.route).toBe('default/hosts#0.0')
      expect(typeof record.totalMs).toBe('number')
      expect(typeof record.upstreamMs).toBe('number')
    })
  })
}

describe('hostile client requests', () => {
  let gw: RunningGateway
  let upstream: TestUpstream

  beforeAll(async () => {
    upstream = await startUpstream('web')
    gw = await startGateway({
      config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\ntimeouts: { requestHeadersMs: 400 }\nrules: [r.yaml]\nservices:\n  web:\n    endpoints: [${upstream.address}]\n    outlierDetection: { consecutiveFailures: 2 }\n`,
      files: { 'r.yaml': ingressYaml('r', [{ paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]) },
      options: { watch: false },
    })
  })

  afterAll(async () => {
    await gw.stop()
    await upstream.close()
  })

  it('rejects two Host headers without blaming the upstream', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await sendRaw(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n')
      expect(reply).toMatch(/^HTTP\/1\.1 400 /)
      expect(reply).toContain('more than one Host header')
    }
    expect(upstream.requests).toHaveLength(0)
    expect((await send(gw.port, { host: 'a.test' })).status).toBe(200)
    expect(gw.lines.some((l) => String(l.msg).includes('eject'))).toBe(false)
  })

  it.each(['a b.test', 'a.test:99999', 'a.test:80x'])('rejects the invalid Host %s', async (host) => {
    const reply = await sendRaw(gw.port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(reply).toContain('GW_ROUTE_BAD_REQUEST')
  })

  it('answers HTTP/1.1 without Host with its code', async () => {
    const reply = await sendRaw(gw.port, 'GET / HTTP/1.1\r\n\r\n')
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(reply).toContain('GW_ROUTE_MISSING_HOST')
  })

  it('answers malformed bytes with a coded 400', async () => {
    const reply = await sendRaw(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(reply).toContain('x-portway-error: GW_ROUTE_BAD_REQUEST')
  })

  it('closes a slow client near the header timeout', async () => {
    const started = Date.now()
    const reply = await sendRaw(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\n')
    expect(reply).toMatch(/^HTTP\/1\.1 408 /)
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})

for (const engine of ['undici', 'http-proxy'] as const) {
  describe(`hostile upstreams (${engine})`, () => {
    let gw: RunningGateway
    let garbage: import('node:net').Server

    beforeAll(async () => {
      const { createServer } = await import('node:net')
      garbage = createServer((s) => {
        s.on('error', () => undefined)
        s.once('data', () => s.end('SSH-2.0-not-http\r\n\r\n'))
      })
      await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r))
      const port = (garbage.address() as { port: number }).port
      gw = await startGateway({
        config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nproxy: { engine: ${engine} }\nrules: [r.yaml]\nservices:\n  junk: { endpoints: ["127.0.0.1:${port}"] }\n`,
        files: { 'r.yaml': ingressYaml('r', [{ paths: [{ path: '/', type: 'Prefix', service: 'junk' }] }]) },
        options: { watch: false },
      })
    })

    afterAll(async () => {
      await gw.stop()
      garbage.close()
    })

    it('answers a non-HTTP upstream with 502 bad response', async () => {
      const res = await send(gw.port, { host: 'a.test', method: 'POST', body: 'x' })
      expect(res.status).toBe(502)
      expect(res.headers['x-portway-error']).toBe('GW_UPSTREAM_BAD_RESPONSE')
    })

    it('answers CONNECT with a coded 400', async () => {
      const reply = await sendRaw(gw.port, 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n')
      expect(reply).toMatch(/^HTTP\/1\.1 400 /)
      expect(reply).toContain('CONNECT is not supported')
    })
  })
}
