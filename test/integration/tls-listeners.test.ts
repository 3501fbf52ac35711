import { X509Certificate } from 'node:crypto'
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { request as httpsRequest } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCa, issueCertificate, type CertificatePair } from '../../src/tls/forge-certs.js'
import { send, startGateway, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256
}

/** Opens a TLS connection and returns the SHA-256 fingerprint of the certificate served. */
function servedFingerprint(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()
      socket.destroy()
      if (cert === undefined) reject(new Error('no peer certificate'))
      else resolve(cert.fingerprint256)
    })
    socket.on('error', reject)
  })
}

function httpsGet(port: number, servername: string, host: string, ca: string, path = '/'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername, headers: { host }, ca, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('HTTPS listener', () => {
  let ca: CertificatePair
  let shop: CertificatePair
  let wildcard: CertificatePair
  let fallback: CertificatePair
  let upstream: TestUpstream
  let gw: RunningGateway
  let httpsPort: number
  let httpPort: number

  beforeAll(async () => {
    ca = createCa({ commonName: 'Test CA', validityDays: 2 })
    shop = issueCertificate({ ca, kind: 'server', commonName: 'shop.example.test', dnsNames: ['shop.example.test'], validityDays: 2 })
    wildcard = issueCertificate({ ca, kind: 'server', commonName: '*.apps.example.test', dnsNames: ['*.apps.example.test'], validityDays: 2 })
    fallback = issueCertificate({ ca, kind: 'server', commonName: 'default.example.test', dnsNames: ['default.example.test'], validityDays: 2 })
    upstream = await startUpstream('web')
    const rules = [
      'apiVersion: networking.k8s.io/v1',
      'kind: Ingress',
      'metadata: { name: shop, annotations: { portway.io/hsts: "max-age=600" } }',
      'spec:',
      '  tls: [{ hosts: [shop.example.test], secretName: shop }, { hosts: ["*.apps.example.test"], secretName: apps }]',
      '  rules:',
      '    - host: shop.example.test',
      '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
      '    - host: "*.apps.example.test"',
      '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
      '    - host: plain.example.test',
      '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
    ].join('\n')
    gw = await startGateway({
      config: [
        'listeners:',
        '  - { name: web, address: 127.0.0.1, port: 0, protocol: http }',
        '  - { name: secure, address: 127.0.0.1, port: 0, protocol: https, tls: { defaultCertificate: fallback } }',
        'proxy: { trustedProxies: [127.0.0.0/8] }',
        'rules: [rules.yaml]',
        'certificates:',
        '  - { name: shop, certFile: shop.pem, keyFile: shop-key.pem }',
        '  - { name: apps, certFile: apps.pem, keyFile: apps-key.pem }',
        '  - { name: fallback, certFile: fallback.pem, keyFile: fallback-key.pem }',
        'services:',
        `  web: { endpoints: [${upstream.address}] }`,
      ].join('\n'),
      files: {
        'rules.yaml': rules,
        'shop.pem': shop.certPem,
        'shop-key.pem': shop.keyPem,
        'apps.pem': wildcard.certPem,
        'apps-key.pem': wildcard.keyPem,
        'fallback.pem': fallback.certPem,
        'fallback-key.pem': fallback.keyPem,
      },
    })
    httpPort = gw.gateway.listeners[0]!.port
    httpsPort = gw.gateway.listeners[1]!.port
  })

  afterAll(async () => {
    await gw.stop()
    await upstream.close()
  })

  it.each([
    ['exact name', 'shop.example.test', () => shop],
    ['exact name, other case', 'SHOP.example.test', () => shop],
    ['wildcard name', 'blue.apps.example.test', () => wildcard],
    ['two labels under wildcard', 'a.b.apps.example.test', () => fallback],
    ['unknown name', 'unknown.test', () => fallback],
    ['no server name', undefined, () => fallback],
  ])('SNI %s', async (_name, servername, expected) => {
    expect(await servedFingerprint(httpsPort, servername)).toBe(fingerprintOf(expected().certPem))
  })

  it('forwards with X-Forwarded-Proto https and HSTS', async () => {
    const res = await httpsGet(httpsPort, 'shop.example.test', 'shop.example.test', ca.certPem, '/cart')
    expect(res.status).toBe(200)
    expect(res.headers['strict-transport-security']).toBe('max-age=600')
    expect(upstream.requests.at(-1)?.headers['x-forwarded-proto']).toBe('https')
  })

  it('answers 421 when the certificate does not cover the Host', async () => {
    const res = await httpsGet(httpsPort, 'shop.example.test', 'blue.apps.example.test', ca.certPem)
    expect(res.status).toBe(421)
    expect(res.headers['x-portway-error']).toBe('GW_ROUTE_MISDIRECTED')
  })

  it('tells a plain HTTP client to use HTTPS', async () => {
    const { connect } = await import('node:net')
    const reply = await new Promise<string>((resolve, reject) => {
      let out = ''
      const socket = connect(httpsPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: shop.example.test\r\n\r\n'))
      socket.on('data', (d) => (out += String(d)))
      socket.on('close', () => resolve(out))
      socket.on('error', reject)
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(reply).toContain('plain HTTP was sent to an HTTPS port')
  })

  it('skips the 421 check for clients without SNI', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: httpsPort, path: '/', headers: { host: 'shop.example.test' }, rejectUnauthorized: false, agent: false }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(200)
  })

  it('redirects plain HTTP for a TLS host with 308', async () => {
    const res = await send(httpPort, { host: 'shop.example.test', path: '/a/b?q=1' })
    expect(res.status).toBe(308)
    expect(res.headers.location).toBe(`https://shop.example.test:${httpsPort}/a/b?q=1`)
  })

  it('serves plain HTTP for a host without TLS', async () => {
    const res = await send(httpPort, { host: 'plain.example.test' })
    expect(res.status).toBe(200)
  })

  it('does not redirect behind a trusted TLS terminator', async () => {
    const res = await send(httpPort, { host: 'shop.example.test', headers: { 'x-forwarded-proto': 'https' } })
    expect(res.status).toBe(200)
    expect(upstream.requests.at(-1)?.headers['x-forwarded-proto']).toBe('https')
  })
})

describe('HTTPS redirect without an HTTPS listener', () => {
  it('serves plain HTTP instead of redirecting nowhere', async () => {
    const upstream = await startUpstream('web')
    const gw = await startGateway({
      config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nrules: [r.yaml]\nservices:\n  web: { endpoints: [${upstream.address}] }\n`,
      files: {
        'r.yaml': [
          'apiVersion: networking.k8s.io/v1',
          'kind: Ingress',
          'metadata: { name: shop }',
          'spec:',
          '  tls: [{ hosts: [shop.example.test], secretName: shop }]',
          '  rules:',
          '    - host: shop.example.test',
          '      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }',
        ].join('\n'),
      },
      options: { watch: false },
    })
    try {
      expect((await send(gw.port, { host: 'shop.example.test' })).status).toBe(200)
    } finally {
      await gw.stop()
      await upstream.close()
    }
  })
})

describe('HTTPS handshake deadline', () => {
  it('closes a stalled handshake and still stops in time', async () => {
    const ca = createCa({ commonName: 'Stall CA', validityDays: 2, keyBits: 1024 })
    const leaf = issueCertificate({ ca, kind: 'server', commonName: 'a.test', dnsNames: ['a.test'], validityDays: 2, keyBits: 1024 })
    const gw = await startGateway({
      config: [
        'listeners: [{ name: secure, address: 127.0.0.1, port: 0, protocol: https, tls: { defaultCertificate: a } }]',
        'timeouts: { requestHeadersMs: 300, shutdownMs: 300 }',
        'certificates: [{ name: a, certFile: a.pem, keyFile: a-key.pem }]',
        'services:',
        '  web: { endpoints: [127.0.0.1:9] }',
      ].join('\n'),
      files: { 'a.pem': leaf.certPem, 'a-key.pem': leaf.keyPem },
      options: { watch: false },
    })
    const { connect } = await import('node:net')
    const closedAfterMs = await new Promise<number>((resolve) => {
      const started = Date.now()
      const socket = connect(gw.port, '127.0.0.1', () => socket.write(Buffer.from([0x16, 0x03, 0x01])))
      socket.on('close', () => resolve(Date.now() - started))
      socket.on('error', () => undefined)
    })
    expect(closedAfterMs).toBeLessThan(3_000)
    const stalled = connect(gw.port, '127.0.0.1')
    stalled.on('error', () => undefined)
    await new Promise((r) => stalled.once('connect', r))
    const started = Date.now()
    await gw.stop()
    expect(Date.now() - started).toBeLessThan(3_000)
    stalled.destroy()
  })
})

describe('TLS passthrough listener', () => {
  let ca: CertificatePair
  let tlsUpstream: TlsServer
  let upstreamPort: number
  let connections = 0
  let gw: RunningGateway
  let port: number

  beforeAll(async () => {
    ca = createCa({ commonName: 'Passthrough CA', validityDays: 2 })
    const leaf = issueCertificate({ ca, kind: 'server', commonName: 'db.example.test', dnsNames: ['db.example.test'], validityDays: 2 })
    tlsUpstream = createTlsServer({ key: leaf.keyPem, cert: leaf.certPem }, (socket) => {
      connections++
      socket.on('data', (d) => socket.write(`tls-echo:${String(d)}`))
      socket.on('error', () => undefined)
    })
    await new Promise<void>((r) => tlsUpstream.listen(0, '127.0.0.1', r))
    upstreamPort = (tlsUpstream.address() as { port: number }).port
    gw = await startGateway({
      config: [
        'listeners:',
        '  - name: pass',
        '    address: 127.0.0.1',
        '    port: 0',
        '    protocol: tls-passthrough',
        '    routes: [{ hosts: [db.example.test, "*.db.example.test"], service: db }]',
        'timeouts: { requestHeadersMs: 300 }',
        'services:',
        `  db: { endpoints: ["127.0.0.1:${upstreamPort}"] }`,
      ].join('\n'),
    })
    port = gw.gateway.listeners[0]!.port
  })

  afterAll(async () => {
    await gw.stop()
    tlsUpstream.close()
  })

  it('reaches a TLS upstream the client verifies end to end', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'db.example.test', ca: ca.certPem }, () => {
        expect(socket.authorized).toBe(true)
        socket.write('hello')
      })
      socket.once('data', (d) => {
        resolve(String(d))
        socket.end()
      })
      socket.on('error', reject)
    })
    expect(reply).toBe('tls-echo:hello')
  })

  it('closes an unknown name without touching the upstream', async () => {
    const before = connections
    const error = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'other.example.test', ca: ca.certPem })
      socket.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message))
      socket.on('secureConnect', () => resolve('connected'))
    })
    expect(error).not.toBe('connected')
    expect(connections).toBe(before)
  })

  it('closes a silent client after the hello timeout', async () => {
    const before = connections
    const { connect } = await import('node:net')
    const closedAfterMs = await new Promise<number>((resolve) => {
      const started = Date.now()
      const socket = connect(port, '127.0.0.1')
      socket.on('close', () => resolve(Date.now() - started))
      socket.on('error', () => undefined)
    })
    expect(closedAfterMs).toBeGreaterThanOrEqual(250)
    expect(connections).toBe(before)
  })

  it('closes a client sending non-TLS bytes', async () => {
    const before = connections
    const { connect } = await import('node:net')
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      socket.on('close', () => resolve())
      socket.on('error', () => undefined)
    })
    expect(connections).toBe(before)
    const record = gw.lines.filter((l) => l.kind === 'access').at(-1)
    expect(record?.flag).toBe('tls_hello_invalid')
  })

  it('sends the upstream the bytes untouched', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'x.db.example.test', ca: ca.certPem, checkServerIdentity: () => undefined }, () => socket.write('wild'))
      socket.once('data', (d) => {
        resolve(String(d))
        socket.end()
      })
      socket.on('error', reject)
    })
    expect(reply).toBe('tls-echo:wild')
  })
})
