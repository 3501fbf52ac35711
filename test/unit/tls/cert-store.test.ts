import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { connect, createServer, type Server } from 'node:tls'
import pino from 'pino'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  CertStore,
  GENERATED_DEFAULT_NAME,
  type CertificateConfig,
  type CertStoreOptions,
} from '../../../src/tls/cert-store.js'
import {
  createCa,
  createSelfSigned,
  inspectCertificate,
  issueCertificate,
  type CertificatePair,
} from '../../../src/tls/forge-certs.js'

const DAY_MS = 24 * 60 * 60 * 1000

let ca: CertificatePair
let dir: string
const stores: CertStore[] = []
const servers: Server[] = []

beforeAll(() => {
  ca = createCa({ commonName: 'Store Test CA', validityDays: 30 })
})

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'portway-certstore-'))
})

afterEach(async () => {
  for (const store of stores.splice(0)) store.close()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
})

function issue(dnsNames: string[], validityDays = 10, now?: Date): CertificatePair {
  const commonName = dnsNames[0] ?? 'no-name'
  // Small keys keep the many generated certificates cheap; the key size is not under test.
  return issueCertificate({ ca, kind: 'server', commonName, dnsNames, validityDays, now, keyBits: 1024 })
}

function writePair(name: string, pair: CertificatePair): CertificateConfig {
  const certFile = join(dir, `${name}-cert.pem`)
  const keyFile = join(dir, `${name}-key.pem`)
  writeFileSync(certFile, pair.certPem)
  writeFileSync(keyFile, pair.keyPem)
  return { name, certFile, keyFile }
}

function fingerprint(pair: CertificatePair): string {
  return inspectCertificate(pair.certPem).sha256Fingerprint
}

function newStore(options: Partial<CertStoreOptions> = {}): CertStore {
  const store = new CertStore({ dataDir: join(dir, 'data'), pollIntervalMs: 0, ...options })
  stores.push(store)
  return store
}

async function startServer(store: CertStore, fallback?: string): Promise<number> {
  const server = createServer(store.serverOptions(fallback), (socket) => socket.end())
  store.attach(server, fallback)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('server has no port')
  return address.port
}

/** Connects with the given server name (none when undefined) and returns the peer fingerprint. */
function peerFingerprint(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, rejectUnauthorized: false }
    const socket = connect(servername === undefined ? options : { ...options, servername }, () => {
      const peer = socket.getPeerX509Certificate()
      socket.destroy()
      if (peer === undefined) reject(new Error('no peer certificate'))
      else resolve(peer.fingerprint256)
    })
    socket.on('error', reject)
  })
}

function captureLogs(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      callback()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

describe('CertStore SNI selection over TLS', () => {
  let api: CertificatePair
  let wildcard: CertificatePair
  let port: number
  let defaultFingerprint: string

  beforeEach(async () => {
    api = issue(['api.example.test'])
    wildcard = issue(['*.example.test'])
    const store = newStore({ certificates: [writePair('api', api), writePair('wild', wildcard)] })
    await store.load()
    port = await startServer(store)
    defaultFingerprint = store.describe(GENERATED_DEFAULT_NAME)?.sha256Fingerprint ?? ''
  })

  it('serves the exact match', async () => {
    expect(await peerFingerprint(port, 'api.example.test')).toBe(fingerprint(api))
  })

  it('serves the wildcard for other names', async () => {
    expect(await peerFingerprint(port, 'www.example.test')).toBe(fingerprint(wildcard))
  })

  it('ignores case of the server name', async () => {
    expect(await peerFingerprint(port, 'API.example.TEST')).toBe(fingerprint(api))
  })

  it('serves the default for an unknown name', async () => {
    expect(await peerFingerprint(port, 'unknown.other.test')).toBe(defaultFingerprint)
  })

  it('serves the default two labels down', async () => {
    expect(await peerFingerprint(port, 'a.b.example.test')).toBe(defaultFingerprint)
  })

  it('serves the default without SNI', async () => {
    expect(await peerFingerprint(port)).toBe(defaultFingerprint)
  })
})

describe('CertStore.selectName', () => {
  it.each([
    ['api.example.test', 'api'],
    ['API.EXAMPLE.TEST.', 'api'],
    ['www.example.test', 'wild'],
    ['www.example.test.', 'wild'],
    ['example.test', GENERATED_DEFAULT_NAME],
    ['a.b.example.test', GENERATED_DEFAULT_NAME],
    ['', GENERATED_DEFAULT_NAME],
    [undefined, GENERATED_DEFAULT_NAME],
  ])('selects for %s', async (servername, expected) => {
    const store = newStore({
      certificates: [
        writePair('wild', issue(['*.example.test'])),
        writePair('api', issue(['api.example.test'])),
      ],
    })
    await store.load()

    expect(store.selectName(servername)).toBe(expected)
  })

  it('prefers configured hosts over SANs', async () => {
    const broad = { ...writePair('broad', issue(['*.example.test'])), hosts: ['api.example.test'] }
    const narrow = writePair('narrow', issue(['api.example.test', 'web.example.test']))
    const store = newStore({ certificates: [narrow, broad] })
    await store.load()

    expect(store.selectName('api.example.test')).toBe('broad')
    expect(store.selectName('web.example.test')).toBe('narrow')
  })

  it('indexes only configured hosts when hosts are set', async () => {
    const limited = { ...writePair('limited', issue(['a.example.test', 'b.example.test'])), hosts: ['a.example.test'] }
    const store = newStore({ certificates: [limited] })
    await store.load()

    expect(store.selectName('b.example.test')).toBe(GENERATED_DEFAULT_NAME)
  })

  it('indexes SANs when hosts is empty', async () => {
    const store = newStore({ certificates: [{ ...writePair('shop', issue(['*.shop.test'])), hosts: [] }] })
    await store.load()

    expect(store.selectName('cart.shop.test')).toBe('shop')
  })

  it('maps Ingress TLS hosts to certificates', async () => {
    const shop = writePair('shop', issue(['*.shop.test']))
    const cart = writePair('cart', issue(['*.shop.test']))
    const store = newStore({ certificates: [shop, cart] })
    await store.load()
    const problems = store.setIngressHosts([{ certificate: 'cart', hosts: ['cart.shop.test'] }])

    expect(problems).toEqual([])
    expect(store.selectName('cart.shop.test')).toBe('cart')
    expect(store.selectName('other.shop.test')).toBe('shop')
  })

  it('reports Ingress hosts the certificate does not cover', async () => {
    const store = newStore({ certificates: [writePair('shop', issue(['*.shop.test']))] })
    await store.load()
    const problems = store.setIngressHosts([
      { certificate: 'shop', hosts: ['shop.test'] },
      { certificate: 'missing', hosts: ['x.test'] },
    ])

    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('"shop.test"')
    expect(problems[1]).toContain('unknown certificate "missing"')
  })

  it('uses the configured default certificate', async () => {
    const store = newStore({
      certificates: [writePair('main', issue(['main.test']))],
      defaultCertificate: 'main',
    })
    await store.load()

    expect(store.selectName('unknown.test')).toBe('main')
    expect(existsSync(join(dir, 'data', 'default-cert.pem'))).toBe(false)
  })

  it('uses a per-listener fallback', async () => {
    const store = newStore({ certificates: [writePair('main', issue(['main.test']))] })
    await store.load()
    const port = await startServer(store, 'main')

    expect(store.selectName('unknown.test', 'main')).toBe('main')
    expect(await peerFingerprint(port)).toBe(store.describe('main')?.sha256Fingerprint)
  })

  it('rejects an unknown default certificate name', () => {
    expect(() => newStore({ defaultCertificate: 'nope' })).toThrow(/defaultCertificate "nope"/)
  })
})

describe('CertStore.coversHost', () => {
  it.each([
    ['api.example.test', true],
    ['Api.Example.Test.', true],
    ['x.wild.test', true],
    ['wild.test', false],
    ['other.test', false],
  ])('%s -> %s', async (host, expected) => {
    const store = newStore({ certificates: [writePair('c', issue(['api.example.test', '*.wild.test']))] })
    await store.load()

    expect(store.coversHost('c', host)).toBe(expected)
  })

  it('returns false for an unknown certificate', async () => {
    const store = newStore()
    await store.load()

    expect(store.coversHost('nope', 'a.test')).toBe(false)
  })
})

describe('CertStore default certificate', () => {
  it('writes the key with mode 0600', async () => {
    await newStore().load()

    expect(statSync(join(dir, 'data', 'default-key.pem')).mode & 0o777).toBe(0o600)
  })

  it('reuses the generated certificate on the next start', async () => {
    const first = newStore()
    await first.load()
    const second = newStore()
    await second.load()

    expect(second.describe(GENERATED_DEFAULT_NAME)?.sha256Fingerprint).toBe(
      first.describe(GENERATED_DEFAULT_NAME)?.sha256Fingerprint,
    )
  })

  it('logs the fingerprint', async () => {
    const { logger, lines } = captureLogs()
    const store = newStore({ logger })
    await store.load()
    const generated = lines.find((line) => line['msg'] === 'generated default certificate')

    expect(generated?.['sha256']).toBe(store.describe(GENERATED_DEFAULT_NAME)?.sha256Fingerprint)
  })

  it('replaces an expired generated certificate', async () => {
    const longAgo = new Date(Date.now() - 400 * DAY_MS)
    const expired = createSelfSigned({ hosts: ['localhost'], validityDays: 30, now: longAgo })
    const dataDir = join(dir, 'data')
    await newStore().load()
    writeFileSync(join(dataDir, 'default-cert.pem'), expired.certPem)
    writeFileSync(join(dataDir, 'default-key.pem'), expired.keyPem)
    const store = newStore()
    await store.load()

    expect(store.describe(GENERATED_DEFAULT_NAME)?.sha256Fingerprint).not.toBe(fingerprint(expired))
    expect(store.describe(GENERATED_DEFAULT_NAME)?.notAfter.getTime()).toBeGreaterThan(Date.now())
  })
})

describe('CertStore validation', () => {
  it('names the key file on mismatch', async () => {
    const config = writePair('api', issue(['api.example.test']))
    writeFileSync(config.keyFile, issue(['other.test']).keyPem)
    const store = newStore({ certificates: [config] })

    await expect(store.load()).rejects.toThrow(config.keyFile)
    await expect(store.load()).rejects.toThrow(/does not match/)
  })

  it('names the certificate file when expired', async () => {
    const config = writePair('old', issue(['old.test'], 1, new Date(Date.now() - 5 * DAY_MS)))
    const store = newStore({ certificates: [config] })

    await expect(store.load()).rejects.toThrow(config.certFile)
    await expect(store.load()).rejects.toThrow(/expired/)
  })

  it('rejects configured hosts the certificate does not cover', async () => {
    const config = { ...writePair('api', issue(['api.example.test'])), hosts: ['shop.test'] }

    await expect(newStore({ certificates: [config] }).load()).rejects.toThrow(/covers none/)
  })

  it('rejects a missing file', async () => {
    const config = writePair('api', issue(['api.example.test']))
    const missing = { ...config, chainFile: join(dir, 'missing-chain.pem') }

    await expect(newStore({ certificates: [missing] }).load()).rejects.toThrow('missing-chain.pem')
  })

  it('rejects duplicate certificate names', () => {
    const config = writePair('api', issue(['api.example.test']))

    expect(() => newStore({ certificates: [config, config] })).toThrow(/duplicate/)
  })
})

describe('CertStore rotation', () => {
  it('serves the new certificate after reload', async () => {
    const config = writePair('api', issue(['api.example.test']))
    const store = newStore({ certificates: [config] })
    await store.load()
    const port = await startServer(store)
    const next = issue(['api.example.test'])
    writePair('api', next)
    const result = await store.reload()

    expect(result.loaded).toEqual(['api'])
    expect(await peerFingerprint(port, 'api.example.test')).toBe(fingerprint(next))
  })

  it('reports unchanged files', async () => {
    const store = newStore({ certificates: [writePair('api', issue(['api.example.test']))] })
    await store.load()

    expect((await store.reload()).unchanged).toEqual(['api'])
  })

  it('keeps the previous certificate when the new pair is bad', async () => {
    const first = issue(['api.example.test'])
    const config = writePair('api', first)
    const { logger, lines } = captureLogs()
    const store = newStore({ certificates: [config], logger })
    await store.load()
    const port = await startServer(store)
    writeFileSync(config.certFile, issue(['api.example.test']).certPem)
    const result = await store.reload()

    expect(result.rejected[0]?.file).toBe(config.keyFile)
    expect(await peerFingerprint(port, 'api.example.test')).toBe(fingerprint(first))
    expect(lines.some((line) => line['level'] === 50 && line['file'] === config.keyFile)).toBe(true)
  })

  it('updates the default of attached servers', async () => {
    const config = writePair('main', issue(['main.test']))
    const store = newStore({ certificates: [config], defaultCertificate: 'main' })
    await store.load()
    const port = await startServer(store)
    const next = issue(['main.test'])
    writePair('main', next)
    await store.reload()

    expect(await peerFingerprint(port)).toBe(fingerprint(next))
  })

  it('reloads when a watched file changes', async () => {
    const config = writePair('api', issue(['api.example.test']))
    const store = newStore({ certificates: [config], pollIntervalMs: 50, debounceMs: 20 })
    await store.load()
    store.watch()
    const next = issue(['api.example.test'])
    writePair('api', next)

    let seen: string | undefined
    for (let attempt = 0; attempt < 100 && seen !== fingerprint(next); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      seen = store.describe('api')?.sha256Fingerprint
    }
    expect(seen).toBe(fingerprint(next))
  })
})
