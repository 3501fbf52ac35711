import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ActiveChecker, type ActiveStatus } from '../../../../src/proxy/health/active-checker.js'
import {
  createProbe,
  isExpectedStatus,
  normalizeStatusRanges,
  probeTcp,
} from '../../../../src/proxy/health/probes.js'

let httpServer: Server
let httpPort: number
let tcpServer: TcpServer
let tcpPort: number
let closedPort: number
let lastHeaders: IncomingHttpHeaders = {}

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

function close(server: Server | TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

beforeAll(async () => {
  httpServer = createServer((req, res) => {
    lastHeaders = req.headers
    if (req.url === '/hang') return
    res.statusCode = req.url === '/healthz' ? 200 : 503
    res.end('body')
  })
  httpPort = await listen(httpServer)
  tcpServer = createTcpServer((socket) => socket.destroy())
  tcpPort = await listen(tcpServer)

  // A port that was just free: bind it, note it, close it.
  const probeServer = createTcpServer()
  closedPort = await listen(probeServer)
  await close(probeServer)
})

afterAll(async () => {
  httpServer.closeAllConnections()
  await close(httpServer)
  await close(tcpServer)
})

describe('HTTP probe', () => {
  it('passes on an expected status', async () => {
    const probe = createProbe({ kind: 'http', path: '/healthz' })
    const result = await probe({ host: '127.0.0.1', port: httpPort }, new AbortController().signal)
    expect(result).toEqual({ ok: true, reason: 'status 200' })
  })

  it('fails on an unexpected status', async () => {
    const probe = createProbe({ kind: 'http', path: '/broken' })
    const result = await probe({ host: '127.0.0.1', port: httpPort }, new AbortController().signal)
    expect(result).toEqual({ ok: false, reason: 'status 503' })
  })

  it('accepts a status in a configured range', async () => {
    const probe = createProbe({ kind: 'http', path: '/broken', expectedStatuses: [[500, 503]] })
    const result = await probe({ host: '127.0.0.1', port: httpPort }, new AbortController().signal)
    expect(result.ok).toBe(true)
  })

  it('sends the configured Host header', async () => {
    const probe = createProbe({ kind: 'http', path: '/healthz', host: 'app.example.test' })
    await probe({ host: '127.0.0.1', port: httpPort }, new AbortController().signal)
    expect(lastHeaders.host).toBe('app.example.test')
  })

  it('fails on a closed port', async () => {
    const probe = createProbe({ kind: 'http', path: '/healthz' })
    const target = { host: '127.0.0.1', port: closedPort }
    const result = await probe(target, new AbortController().signal)
    expect(result).toEqual({ ok: false, reason: 'request failed: ECONNREFUSED' })
  })

  it('settles as timed out when aborted', async () => {
    const probe = createProbe({ kind: 'http', path: '/hang' })
    const controller = new AbortController()
    const pending = probe({ host: '127.0.0.1', port: httpPort }, controller.signal)
    setImmediate(() => controller.abort())
    expect(await pending).toEqual({ ok: false, reason: 'timed out' })
  })
})

describe('TCP probe', () => {
  it('passes when the port accepts', async () => {
    const target = { host: '127.0.0.1', port: tcpPort }
    const result = await probeTcp(target, new AbortController().signal)
    expect(result).toEqual({ ok: true, reason: 'connected' })
  })

  it('fails on a closed port', async () => {
    const target = { host: '127.0.0.1', port: closedPort }
    const result = await probeTcp(target, new AbortController().signal)
    expect(result).toEqual({ ok: false, reason: 'connect failed: ECONNREFUSED' })
  })
})

describe('ActiveChecker with real probes', () => {
  it('marks a listening port up and a closed one down', async () => {
    const statuses = new Map<string, ActiveStatus>()
    let checker: ActiveChecker | undefined
    const settled = new Promise<void>((resolve) => {
      checker = new ActiveChecker({
        service: 's',
        config: { probe: { kind: 'tcp' }, intervalMs: 60_000, timeoutMs: 2000, rise: 1, fall: 1 },
        onChange: (id, status) => {
          statuses.set(id, status)
          if (statuses.size === 2) resolve()
        },
      })
      checker.setEndpoints([
        { id: 'open', host: '127.0.0.1', port: tcpPort },
        { id: 'closed', host: '127.0.0.1', port: closedPort },
      ])
    })
    try {
      await settled
    } finally {
      checker?.stop()
    }
    expect(statuses.get('open')).toBe('up')
    expect(statuses.get('closed')).toBe('down')
  })
})

describe('normalizeStatusRanges', () => {
  it('defaults to 200-399', () => {
    expect(normalizeStatusRanges(undefined)).toEqual([[200, 399]])
  })

  it('wraps a single range', () => {
    expect(normalizeStatusRanges([200, 204])).toEqual([[200, 204]])
  })

  it('keeps a list of ranges', () => {
    expect(normalizeStatusRanges([[200, 200], [301, 302]])).toEqual([[200, 200], [301, 302]])
  })

  it.each([
    ['reversed bounds', [399, 200] as const],
    ['out-of-range code', [200, 600] as const],
    ['fraction', [200.5, 300] as const],
  ])('rejects %s', (_case, range) => {
    expect(() => normalizeStatusRanges(range)).toThrow(RangeError)
  })

  it('matches inclusive bounds', () => {
    const ranges = normalizeStatusRanges([[200, 299], [404, 404]])
    expect(isExpectedStatus(200, ranges)).toBe(true)
    expect(isExpectedStatus(299, ranges)).toBe(true)
    expect(isExpectedStatus(404, ranges)).toBe(true)
    expect(isExpectedStatus(300, ranges)).toBe(false)
  })
})
