import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js'
import { GatewayMetrics } from '../../src/admin/gateway-metrics.js'
import { createCa, issueCertificate, type CertificatePair } from '../../src/tls/forge-certs.js'
import { memoryLogger, startGateway, waitFor, type LogLine, type RunningGateway } from '../support/gateway-harness.js'

const DAY_MS = 24 * 60 * 60 * 1000

interface ClientIdentity {
  cert?: string
  key?: string
}

describe('admin API mutual TLS', () => {
  let dir: string
  let gw: RunningGateway
  let admin: AdminServer
  let lines: LogLine[]
  let ca: CertificatePair
  let client: CertificatePair
  let otherCaClient: CertificatePair
  let expiredClient: CertificatePair

  function get(path: string, identity: ClientIdentity): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: admin.port, path, ca: ca.certPem, cert: identity.cert, key: identity.key, agent: false },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end()
    })
  }

  const rejections = (): LogLine[] => lines.filter((l) => l.msg === 'admin TLS handshake rejected')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portway-admin-tls-'))
    ca = createCa({ commonName: 'admin test CA', validityDays: 30 })
    const server = issueCertificate({ ca, kind: 'server', commonName: 'admin', ipAddresses: ['127.0.0.1'], validityDays: 30 })
    client = issueCertificate({ ca, kind: 'client', commonName: 'operator', validityDays: 30 })
    const otherCa = createCa({ commonName: 'other CA', validityDays: 30 })
    otherCaClient = issueCertificate({ ca: otherCa, kind: 'client', commonName: 'intruder', validityDays: 30 })
    expiredClient = issueCertificate({ ca, kind: 'client', commonName: 'former', validityDays: 1, now: new Date(Date.now() - 10 * DAY_MS) })
    writeFileSync(join(dir, 'ca.pem'), ca.certPem)
    writeFileSync(join(dir, 'admin.pem'), server.certPem)
    writeFileSync(join(dir, 'admin-key.pem'), server.keyPem)

    gw = await startGateway({ config: 'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]' })
    const logger = memoryLogger()
    lines = logger.lines
    const tls = { certFile: join(dir, 'admin.pem'), keyFile: join(dir, 'admin-key.pem'), clientCaFile: join(dir, 'ca.pem') }
    admin = await startAdminServer({
      config: { address: '127.0.0.1', port: 0, tls },
      gateway: gw.gateway,
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      log: logger.log,
      certPollMs: 100,
    })
  })

  afterAll(async () => {
    await admin?.close()
    await gw?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('accepts a client certificate from the CA', async () => {
    const res = await get('/healthz', { cert: client.certPem, key: client.keyPem })

    expect(admin.tls).toBe(true)
    expect(res.status).toBe(200)
  })

  it.each([
    ['no client certificate', (): ClientIdentity => ({}), 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
    ['a certificate from another CA', (): ClientIdentity => ({ cert: otherCaClient.certPem, key: otherCaClient.keyPem }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['an expired certificate', (): ClientIdentity => ({ cert: expiredClient.certPem, key: expiredClient.keyPem }), 'CERT_HAS_EXPIRED'],
  ])('rejects %s at the handshake', async (_name, identity, reason) => {
    const before = rejections().length

    await expect(get('/healthz', identity())).rejects.toThrow()

    await waitFor(() => rejections().length > before, 5_000, 'handshake rejection log line')
    expect(rejections().at(-1)?.reason).toBe(reason)
  })
  it('reloads rotated certificate files', async () => {
    const nextCa = createCa({ commonName: 'rotated CA', validityDays: 30 })
    const nextServer = issueCertificate({ ca: nextCa, kind: 'server', commonName: 'admin', ipAddresses: ['127.0.0.1'], validityDays: 30 })
    const nextClient = issueCertificate({ ca: nextCa, kind: 'client', commonName: 'operator', validityDays: 30 })

    writeFileSync(join(dir, 'admin-key.pem'), nextServer.keyPem)
    writeFileSync(join(dir, 'admin.pem'), nextServer.certPem)
    writeFileSync(join(dir, 'ca.pem'), nextCa.certPem)
    await waitFor(() => lines.some((l) => l.msg === 'admin TLS files reloaded'), 5_000, 'TLS reload log line')
    ca = nextCa

    expect((await get('/healthz', { cert: nextClient.certPem, key: nextClient.keyPem })).status).toBe(200)
    await expect(get('/healthz', { cert: client.certPem, key: client.keyPem })).rejects.toThrow()
  })
})
