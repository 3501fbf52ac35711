import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { send, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../support/upstreams.js'

const RULE = (annotations = ''): string => [
  'apiVersion: networking.k8s.io/v1',
  'kind: Ingress',
  `metadata: { name: app${annotations === '' ? '' : `, annotations: { ${annotations} }`} }`,
  'spec:',
  '  rules:',
  '    - host: app.test',
  '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }',
].join('\n') + '\n'

async function gatewayFor(upstreams: Array<{ u: TestUpstream; weight?: number }>, serviceExtra = '', files: Record<string, string> = {}, listenerExtra = ''): Promise<RunningGateway> {
  const endpoints = upstreams.map(({ u, weight }) => `{ address: "${u.address}", weight: ${weight ?? 1} }`).join(', ')
  return startGateway({
    config: [
      `listeners: [{ name: web, address: 127.0.0.1, port: 0${listenerExtra} }]`,
      'rules: [rules.yaml]',
      'timeouts: { shutdownMs: 500 }',
      'services:',
      '  app:',
      `    endpoints: [${endpoints}]`,
      ...(serviceExtra === '' ? [] : [serviceExtra]),
    ].join('\n'),
    files: { 'rules.yaml': RULE(), ...files },
    options: { watch: false },
  })
}

function count(responses: Array<{ headers: Record<string, unknown> }>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of responses) {
    const name = String(r.headers['x-upstream'])
    out[name] = (out[name] ?? 0) + 1
  }
  return out
}

async function sendMany(port: number, n: number, opts: Parameters<typeof send>[1] = { host: 'app.test' }): Promise<Awaited<ReturnType<typeof send>>[]> {
  const out = []
  for (let i = 0; i < n; i++) out.push(await send(port, opts))
  return out
}

describe('load balancing and failure handling', () => {
  const cleanup: Array<() => Promise<void>> = []

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  async function upstream(name: string, handler?: UpstreamHandler): Promise<TestUpstream> {
    const u = await startUpstream(name, handler)
    cleanup.push(() => u.close())
    return u
  }

  async function gateway(...args: Parameters<typeof gatewayFor>): Promise<RunningGateway> {
    const gw = await gatewayFor(...args)
    cleanup.push(() => gw.stop())
    return gw
  }

  it('splits traffic by weight', async () => {
    const [a, b, c] = [await upstream('a'), await upstream('b'), await upstream('c')]
    const gw = await gateway([{ u: a, weight: 5 }, { u: b, weight: 3 }, { u: c, weight: 2 }])
    const counts = count(await sendMany(gw.port, 200))
    // Smooth weighted round robin is exact over whole periods of 10 requests.
    expect(counts).toEqual({ a: 100, b: 60, c: 40 })
  })

  it('retries an idempotent request when an endpoint is down', async () => {
    const [a, b] = [await upstream('a'), await upstream('b')]
    const gw = await gateway([{ u: a }, { u: b }], '    outlierDetection: { consecutiveFailures: 0 }')
    await b.close()
    const responses = await sendMany(gw.port, 20)
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    const retried = gw.lines.filter((l) => l.kind === 'access' && l.attempts === 2)
    expect(retried.length).toBeGreaterThan(0)
  })

  it('never replays a POST whose body went upstream', async () => {
    const reset = await upstream('reset', (req) => {
      req.on('data', () => undefined)
      req.on('end', () => req.socket.destroy())
    })
    const ok = await upstream('ok')
    const gw = await gateway([{ u: reset }, { u: ok }], '    balancer: round-robin\n    outlierDetection: { consecutiveFailures: 0 }')
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await send(gw.port, { host: 'app.test', method: 'POST', body: 'payload' })).status)
    expect(statuses.filter((s) => s === 502)).toHaveLength(3)
    expect(statuses.filter((s) => s === 200)).toHaveLength(3)
    expect(ok.requests.filter((r) => r.method === 'POST')).toHaveLength(3)
    expect(reset.requests).toHaveLength(3)
  })

  it('pins a client with a sticky cookie and fails over', async () => {
    const [a, b, c] = [await upstream('a'), await upstream('b'), await upstream('c')]
    const gw = await gateway([{ u: a }, { u: b }, { u: c }], '    stickyCookie: { name: lb, maxAgeSeconds: 60 }')
    const first = await send(gw.port, { host: 'app.test' })
    const setCookie = String(first.headers['set-cookie'])
    expect(setCookie).toMatch(/^lb=[\w-]+; Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/)
    const cookie = setCookie.split(';')[0]!
    const pinned = String(first.headers['x-upstream'])
    const again = await sendMany(gw.port, 10, { host: 'app.test', headers: { cookie } })
    expect(count(again)).toEqual({ [pinned]: 10 })
    expect(again.every((r) => r.headers['set-cookie'] === undefined)).toBe(true)
    await [a, b, c].find((u) => u.name === pinned)!.close()
    const moved = await send(gw.port, { host: 'app.test', headers: { cookie } })
    expect(moved.status).toBe(200)
    expect(moved.headers['x-upstream']).not.toBe(pinned)
    expect(String(moved.headers['set-cookie'])).toMatch(/^lb=/)
  })

  it('ejects an endpoint that keeps failing', async () => {
    const bad = await upstream('bad', (_req, res) => {
      res.writeHead(500)
      res.end('broken')
    })
    const [good1, good2] = [await upstream('good1'), await upstream('good2')]
    const gw = await gateway([{ u: bad }, { u: good1 }, { u: good2 }], '    balancer: round-robin\n    outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 60000, maxEjectionPercent: 50 }')
    await sendMany(gw.port, 12)
    await waitFor(() => gw.lines.some((l) => String(l.msg).includes('eject')), 2_000, 'ejection log line')
    const before = bad.requests.length
    const after = await sendMany(gw.port, 30)
    expect(bad.requests.length).toBe(before)
    expect(after.every((r) => r.status === 200)).toBe(true)
  })

  it('takes down an endpoint its health check fails', async () => {
    let healthy = true
    const flaky = await upstream('flaky', (req, res) => {
      if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503)
      else res.writeHead(200, { 'x-upstream': 'flaky' })
      res.end()
    })
    const steady = await upstream('steady')
    const gw = await gateway([{ u: flaky }, { u: steady }], '    healthCheck: { path: /healthz, intervalMs: 100, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 }\n    panicThresholdPercent: 0')
    healthy = false
    await waitFor(async () => {
      const responses = await sendMany(gw.port, 4)
      return responses.every((r) => r.headers['x-upstream'] === 'steady')
    }, 5_000, 'flaky endpoint to leave rotation')
    healthy = true
    await waitFor(async () => (await sendMany(gw.port, 4)).some((r) => r.headers['x-upstream'] === 'flaky'), 5_000, 'flaky endpoint to return')
  })

  it('spreads over all endpoints in panic mode', async () => {
    const sick = async (name: string): Promise<TestUpstream> => upstream(name, (req, res) => {
      res.writeHead(req.url === '/healthz' ? 503 : 200, { 'x-upstream': name })
      res.end()
    })
    const [a, b] = [await sick('a'), await sick('b')]
    const gw = await gateway([{ u: a }, { u: b }], '    healthCheck: { path: /healthz, intervalMs: 100, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 }\n    panicThresholdPercent: 50')
    await waitFor(() => gw.lines.some((l) => String(l.msg).startsWith('panic mode')), 5_000, 'panic mode')
    const counts = count(await sendMany(gw.port, 10))
    expect(counts).toEqual({ a: 5, b: 5 })
  })

  it('answers 503 over the connection limit', async () => {
    const held: Array<() => void> = []
    const slow = await upstream('slow', (_req, res) => held.push(() => res.end('late')))
    const gw = await gateway([{ u: slow }], '    maxConnections: 1')
    const first = send(gw.port, { host: 'app.test' })
    await waitFor(() => held.length === 1, 2_000, 'first request upstream')
    const second = await send(gw.port, { host: 'app.test' })
    expect(second.status).toBe(503)
    expect(second.headers['x-portway-error']).toBe('GW_UPSTREAM_OVERFLOW')
    held[0]!()
    expect((await first).status).toBe(200)
    await waitFor(() => gw.lines.some((l) => l.kind === 'access' && l.flag === 'upstream_overflow'), 2_000, 'overflow access flag')
  })
})

describe('canary, access lists and body limits', () => {
  const cleanup: Array<() => Promise<void>> = []

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  async function setup(annotations: string, canary?: string, listenerExtra = '', address = '127.0.0.1'): Promise<{ gw: RunningGateway; main: TestUpstream; next: TestUpstream }> {
    const main = await startUpstream('main')
    const next = await startUpstream('next')
    cleanup.push(() => main.close(), () => next.close())
    const canaryDoc = canary === undefined ? '' : [
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: Ingress',
      `metadata: { name: app-canary, annotations: { ${canary} } }`,
      'spec:',
      '  rules:',
      '    - host: app.test',
      '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: next, port: { number: 80 } } } }] }',
    ].join('\n') + '\n'
    const gw = await startGateway({
      config: [
        `listeners: [{ name: web, address: "${address}", port: 0${listenerExtra} }]`,
        'rules: [rules.yaml]',
        'services:',
        `  app: { endpoints: ["${main.address}"] }`,
        `  next: { endpoints: ["${next.address}"] }`,
      ].join('\n'),
      files: { 'rules.yaml': RULE(annotations) + canaryDoc },
      options: { watch: false },
    })
    cleanup.push(() => gw.stop())
    return { gw, main, next }
  }

  it('splits a canary by weight', async () => {
    const { gw } = await setup('', 'nginx.ingress.kubernetes.io/canary: "true", nginx.ingress.kubernetes.io/canary-weight: "30"')
    const counts = count(await sendMany(gw.port, 300))
    // 30% of 300 is 90; the split is random, so allow a wide band.
    expect(counts.next).toBeGreaterThan(50)
    expect(counts.next).toBeLessThan(140)
    expect((counts.main ?? 0) + (counts.next ?? 0)).toBe(300)
  })

  it('routes a canary by header', async () => {
    const { gw } = await setup('', 'portway.io/canary: "true", portway.io/canary-by-header: X-Canary, portway.io/canary-weight: "0"')
    expect((await send(gw.port, { host: 'app.test', headers: { 'x-canary': 'always' } })).headers['x-upstream']).toBe('next')
    expect((await send(gw.port, { host: 'app.test', headers: { 'x-canary': 'never' } })).headers['x-upstream']).toBe('main')
    expect((await send(gw.port, { host: 'app.test' })).headers['x-upstream']).toBe('main')
  })

  it('routes a canary by cookie', async () => {
    const { gw } = await setup('', 'portway.io/canary: "true", portway.io/canary-by-cookie: beta, portway.io/canary-weight: "100"')
    expect((await send(gw.port, { host: 'app.test', headers: { cookie: 'beta=never' } })).headers['x-upstream']).toBe('main')
    expect((await send(gw.port, { host: 'app.test', headers: { cookie: 'x=1; beta=always' } })).headers['x-upstream']).toBe('next')
    expect((await send(gw.port, { host: 'app.test' })).headers['x-upstream']).toBe('next')
  })

  it.each([
    ['deny IPv4 client', 'portway.io/deny-cidrs: "127.0.0.0/8"', '127.0.0.1', 403],
    ['allow IPv4 client', 'portway.io/allow-cidrs: "127.0.0.1/32, 10.0.0.0/8"', '127.0.0.1', 200],
    ['allow list without client', 'portway.io/allow-cidrs: "10.0.0.0/8"', '127.0.0.1', 403],
    ['deny IPv6 client', 'portway.io/deny-cidrs: "::1/128"', '::1', 403],
    ['allow IPv6 client', 'nginx.ingress.kubernetes.io/whitelist-source-range: "::1/128"', '::1', 200],
    ['deny wins over allow', 'portway.io/allow-cidrs: "::/0", portway.io/deny-cidrs: "::1"', '::1', 403],
  ])('route access: %s', async (_name, annotations, address, status) => {
    const { gw } = await setup(annotations, undefined, '', address)
    const res = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: address, port: gw.port, headers: { host: 'app.test' }, agent: false }, (r) => {
        r.resume()
        resolve(r.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(res).toBe(status)
  })

  it('listener access list rejects a client', async () => {
    const { gw } = await setup('', undefined, ', denyCidrs: [127.0.0.1]')
    const res = await send(gw.port, { host: 'app.test' })
    expect(res.status).toBe(403)
    expect(res.headers['x-portway-error']).toBe('GW_ROUTE_DENIED')
  })

  it('rejects bodies over the route limit', async () => {
    const { gw, main } = await setup('portway.io/max-body-bytes: "1k"')
    const small = await send(gw.port, { host: 'app.test', method: 'POST', body: 'x'.repeat(1024) })
    expect(small.status).toBe(200)
    const big = await send(gw.port, { host: 'app.test', method: 'POST', body: 'x'.repeat(1025) })
    expect(big.status).toBe(413)
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.port, method: 'POST', headers: { host: 'app.test', 'transfer-encoding': 'chunked' }, agent: false }, (r) => {
        r.resume()
        resolve(r.statusCode ?? 0)
      })
      req.on('error', reject)
      for (let i = 0; i < 4; i++) req.write('y'.repeat(512))
      req.end()
    })
    expect(chunked).toBe(413)
    expect(main.requests.filter((r) => r.bodyBytes > 1024)).toHaveLength(0)
  })
})
