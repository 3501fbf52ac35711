import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import forge from 'node-forge'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ConsulProviderOptions } from '../../../src/discovery/consul-provider.js'
import type { ServiceQuery } from '../../../src/discovery/types.js'
import { ConsulDouble } from '../../support/consul-double.js'
import { ids, startProvider, type ProviderHarness } from '../../support/consul-double-harness.js'

let double: ConsulDouble
let harness: ProviderHarness | undefined

beforeEach(async () => {
  double = await ConsulDouble.start({ jitter: () => 0 })
})

afterEach(async () => {
  await harness?.provider.close()
  harness = undefined
  await double.stop()
})

function watch(queries: ServiceQuery[], options: ConsulProviderOptions = {}): ProviderHarness {
  harness = startProvider(double, options)
  harness.provider.setWatched(queries)
  return harness
}

function passing(id: string, port: number): Record<string, unknown> {
  return { Name: 'web', ID: id, Port: port, Check: { CheckID: `check-${id}`, TTL: '30s', Status: 'passing' } }
}

/** Waits until the double has received `n` more health requests than now. */
async function moreRequests(n: number): Promise<void> {
  const target = double.requestCount('health.service') + n
  await vi.waitFor(() => expect(double.requestCount('health.service')).toBeGreaterThanOrEqual(target), 5_000)
}

describe('index anomalies', () => {
  it('recovers when the index goes backwards', async () => {
    for (let i = 0; i < 5; i++) double.register(passing(`old-${i}`, 8000 + i))
    const h = watch([{ key: 'web', name: 'web' }], { waitMs: 300 })
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(5))
    await vi.waitFor(() => expect(double.waiting('health.service')).toBe(1))

    double.restoreSnapshot(2)
    double.register(passing('after-restore', 9000))
    await vi.waitFor(() => expect(ids(h, 'web')).toContain('node-1/after-restore'), 5_000)
    double.register(passing('later', 9001))
    await vi.waitFor(() => expect(ids(h, 'web')).toContain('node-1/later'), 5_000)
  })

  it('backs off instead of spinning on index 0', async () => {
    double.register(passing('web-1', 8080))
    double.setLegacyZeroIndex(true)
    const h = watch([{ key: 'web', name: 'web' }], { backoffBaseMs: 50, backoffMaxMs: 200 })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    // Real time is the quantity under test here: a busy loop would send thousands of requests.
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(double.requestCount('health.service')).toBeLessThan(15)
    expect(h.provider.status().lastError).toMatch(/X-Consul-Index 0/)
  })

  it('emits nothing on spurious wake-ups', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    const emitted = h.emitCount('web')
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(double.waiting('health.service')).toBe(1))
      if (i % 2 === 0) double.releaseWaiters()
      else double.touchService('web')
      await moreRequests(1)
    }
    expect(h.emitCount('web')).toBe(emitted)
  })

  it('ignores result order', async () => {
    await double.stop()
    let flip = 0
    double = await ConsulDouble.start({ jitter: () => 0, shuffle: () => (flip++ % 2 === 0 ? 0 : 0.99) })
    for (let i = 0; i < 4; i++) double.register(passing(`web-${i}`, 8000 + i))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(4))
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(double.waiting('health.service')).toBe(1))
      double.touchService('web')
      await moreRequests(1)
    }
    expect(h.emitCount('web')).toBe(1)
  })
})

describe('outages', () => {
  it('keeps the last endpoints while Consul is down and resyncs after restart', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    const emitted = h.emitCount('web')

    await double.closeListener()
    await vi.waitFor(() => expect(h.provider.status().reachable).toBe(false))
    expect(h.emitCount('web')).toBe(emitted)
    expect(h.provider.listEndpoints()[0]?.endpoints.map((e) => e.id)).toEqual(['node-1/web-1'])
    expect(h.provider.status().lastError).toBeDefined()

    double.register(passing('web-2', 8081))
    await double.restart()
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1', 'node-1/web-2']), 5_000)
    expect(h.provider.status().reachable).toBe(true)
    const warnings = h.logs.filter((l) => l.level === 40 && /unreachable/.test(l.msg))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.msg).toMatch(/retrying in \d+ms/)
    expect(h.logs.filter((l) => l.level === 30 && /reachable again/.test(l.msg))).toHaveLength(1)
  })

  it('starts while Consul is down', async () => {
    await double.closeListener()
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(h.provider.status().lastError).toBeDefined())
    expect(h.latest('web')).toBeUndefined()
    await double.restart()
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']), 5_000)
  })

  it('keeps endpoints through 500s and 403s', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']))
    double.inject('health.service', { status: 403, body: 'ACL not found', times: 2 })
    double.inject('health.service', { status: 500, body: 'No cluster leader', times: 2 })
    double.releaseWaiters()
    await moreRequests(4)
    double.register(passing('web-2', 8081))
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(2), 5_000)
    expect(h.emits.every((e) => e.endpoints.length > 0)).toBe(true)
    expect(h.logs.some((l) => l.level === 40 && /rejected/.test(l.msg))).toBe(true)
  })

  it('keeps working without a leader by reading stale', async () => {
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }])
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(1))
    double.setLeader(false)
    double.register(passing('web-2', 8081))
    await vi.waitFor(() => expect(ids(h, 'web')).toHaveLength(2))
    expect(h.provider.status().reachable).toBe(true)
  })

  it('times out a hung response and retries', async () => {
    double.register(passing('web-1', 8080))
    double.inject('health.service', { hang: true })
    const h = watch([{ key: 'web', name: 'web' }], { waitMs: 200, timeoutMarginMs: 100 })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']), 5_000)
    expect(h.provider.status().lastError).toMatch(/timed out/)
  })

  it('survives a socket reset mid-response', async () => {
    double.register(passing('web-1', 8080))
    double.inject('health.service', { reset: true, times: 2 })
    const h = watch([{ key: 'web', name: 'web' }], { waitMs: 200, timeoutMarginMs: 100 })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']), 5_000)
  })
})

describe('churn', () => {
  it('applies every final state of 200 services with bounded requests', async () => {
    const services = 200
    const perService = 10
    const name = (s: number) => `svc-${s}`
    double.addNode('node-2', '10.0.0.2')
    for (let s = 0; s < services; s++) {
      for (let i = 0; i < perService; i++) {
        const node = i % 2 === 0 ? 'node-1' : 'node-2'
        double.register(
          { Name: name(s), ID: `${name(s)}-${i}`, Port: 8000 + i, Check: { CheckID: `c-${s}-${i}`, TTL: '1h', Status: 'passing' } },
          { node },
        )
      }
    }
    const refillMs = 250
    const h = watch(
      Array.from({ length: services }, (_, s) => ({ key: name(s), name: name(s) })),
      { churnRefillMs: refillMs, waitMs: 5_000 },
    )
    await vi.waitFor(() => expect(h.provider.listEndpoints()).toHaveLength(services), 10_000)

    const started = Date.now()
    const statuses = ['passing', 'warning', 'critical'] as const
    let seed = 7
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647
    const final = new Map<string, (typeof statuses)[number]>()
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 400; k++) {
        const s = Math.floor(random() * services)
        const i = Math.floor(random() * perService)
        const status = statuses[Math.floor(random() * 3)]!
        const node = i % 2 === 0 ? 'node-1' : 'node-2'
        double.setCheckStatus(`c-${s}-${i}`, status, { node })
        final.set(`${s}/${i}`, status)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }

    const expected = (s: number) =>
      Array.from({ length: perService }, (_, i) => i)
        .filter((i) => (final.get(`${s}/${i}`) ?? 'passing') === 'passing')
        .map((i) => `${i % 2 === 0 ? 'node-1' : 'node-2'}/${name(s)}-${i}`)
        .sort()
    await vi.waitFor(
      () => {
        for (let s = 0; s < services; s++) expect(ids(h, name(s))).toEqual(expected(s))
      },
      { timeout: 10_000, interval: 100 },
    )

    const elapsedMs = Date.now() - started
    // Each loop may send its burst of 2, then one request per refill, plus its first read.
    const perLoop = 3 + Math.ceil(elapsedMs / refillMs)
    expect(double.requestCount('health.service')).toBeLessThanOrEqual(services * perLoop)
  }, 30_000)
})

describe('HTTPS', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'consul-tls-'))
  })

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('reads from an HTTPS double with a CA file', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const cert = forge.pki.createCertificate()
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString())
    cert.serialNumber = '01'
    cert.validity.notBefore = new Date(Date.now() - 60_000)
    cert.validity.notAfter = new Date(Date.now() + 3_600_000)
    const attrs = [{ name: 'commonName', value: 'consul.test' }]
    cert.setSubject(attrs)
    cert.setIssuer(attrs)
    cert.setExtensions([
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ])
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create())
    const certPem = forge.pki.certificateToPem(cert)
    const caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, certPem)

    await double.stop()
    double = await ConsulDouble.start({ jitter: () => 0, tls: { key: keyPem, cert: certPem } })
    double.register(passing('web-1', 8080))
    const h = watch([{ key: 'web', name: 'web' }], { address: `https://${double.address}`, caFile })
    await vi.waitFor(() => expect(ids(h, 'web')).toEqual(['node-1/web-1']), 5_000)
    expect(h.provider.connection.secure).toBe(true)
  })
})
