import { execFileSync, spawnSync } from 'node:child_process'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkKeyPair,
  createCa,
  createSelfSigned,
  inspectCertificate,
  issueCertificate,
  type CertificatePair,
} from '../../../src/tls/forge-certs.js'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0
const DAY_MS = 24 * 60 * 60 * 1000

let ca: CertificatePair
let server: CertificatePair
let client: CertificatePair
let dir: string

beforeAll(() => {
  ca = createCa({ commonName: 'Portway Test CA', validityDays: 30 })
  server = issueCertificate({
    ca,
    kind: 'server',
    commonName: 'api.example.test',
    dnsNames: ['api.example.test', '*.apps.example.test'],
    ipAddresses: ['127.0.0.1', '::1'],
    validityDays: 10,
  })
  client = issueCertificate({ ca, kind: 'client', commonName: 'worker-1', validityDays: 10 })
  dir = mkdtempSync(join(tmpdir(), 'portway-forge-'))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function writePem(name: string, pem: string): string {
  const file = join(dir, name)
  writeFileSync(file, pem)
  return file
}

function opensslText(file: string): string {
  return execFileSync('openssl', ['x509', '-in', file, '-text', '-noout'], { encoding: 'utf8' })
}

describe('createCa', () => {
  it('creates a self-issued CA certificate', () => {
    const x509 = new X509Certificate(ca.certPem)

    expect(x509.ca).toBe(true)
    expect(x509.subject).toBe('CN=Portway Test CA')
    expect(x509.checkIssued(x509)).toBe(true)
    expect(x509.verify(x509.publicKey)).toBe(true)
    expect(x509.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true)
  })

  it('uses a 2048-bit RSA key by default', () => {
    const key = createPrivateKey(ca.keyPem)

    expect(key.asymmetricKeyType).toBe('rsa')
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048)
  })

  it('honours keyBits', () => {
    const small = createCa({ commonName: 'Small CA', validityDays: 1, keyBits: 1024 })

    expect(createPrivateKey(small.keyPem).asymmetricKeyDetails?.modulusLength).toBe(1024)
  })

  it('sets the validity period from validityDays', () => {
    const now = new Date('2030-01-01T00:00:00Z')
    const info = inspectCertificate(createCa({ commonName: 'Dated', validityDays: 7, now }).certPem)

    expect(info.notAfter.getTime()).toBe(now.getTime() + 7 * DAY_MS)
    expect(info.notBefore.getTime()).toBeLessThanOrEqual(now.getTime())
  })

  it('rejects a validity below one day', () => {
    expect(() => createCa({ commonName: 'x', validityDays: 0 })).toThrow(/validityDays/)
  })

  it.skipIf(!hasOpenssl)('carries CA extensions that openssl prints', () => {
    const text = opensslText(writePem('ca.pem', ca.certPem))

    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/)
    expect(text).toMatch(/Key Usage: critical\s+.*Certificate Sign, CRL Sign/)
    expect(text).toContain('Subject Key Identifier')
    expect(text).toContain('Authority Key Identifier')
  })
})

describe('issueCertificate', () => {
  it('issues a server certificate the CA verifies', () => {
    const leaf = new X509Certificate(server.certPem)
    const root = new X509Certificate(ca.certPem)

    expect(leaf.checkIssued(root)).toBe(true)
    expect(leaf.verify(root.publicKey)).toBe(true)
    expect(leaf.ca).toBe(false)
    expect(leaf.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true)
  })

  it('writes DNS and IP subject alternative names', () => {
    const leaf = new X509Certificate(server.certPem)

    expect(leaf.subjectAltName).toContain('DNS:api.example.test')
    expect(leaf.subjectAltName).toContain('DNS:*.apps.example.test')
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1')
    expect(leaf.checkIP('::1')).toBe('::1')
    expect(leaf.checkHost('web.apps.example.test')).toBe('*.apps.example.test')
  })

  it('issues a client certificate the CA verifies', () => {
    const leaf = new X509Certificate(client.certPem)

    expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true)
    expect(leaf.subject).toBe('CN=worker-1')
    expect(leaf.subjectAltName).toBeUndefined()
  })

  it('rejects a mismatched CA key', () => {
    const mismatched = { certPem: ca.certPem, keyPem: server.keyPem }

    expect(() =>
      issueCertificate({ ca: mismatched, kind: 'server', commonName: 'x', validityDays: 1 }),
    ).toThrow(/CA key does not match/)
  })

  it('rejects an invalid IP address', () => {
    expect(() =>
      issueCertificate({
        ca,
        kind: 'server',
        commonName: 'x',
        ipAddresses: ['300.1.1.1'],
        validityDays: 1,
      }),
    ).toThrow(/invalid IP address "300.1.1.1"/)
  })

  it.skipIf(!hasOpenssl)('passes openssl verify against the CA', () => {
    const caFile = writePem('verify-ca.pem', ca.certPem)
    const serverFile = writePem('server.pem', server.certPem)
    const clientFile = writePem('client.pem', client.certPem)
    const output = execFileSync('openssl', ['verify', '-CAfile', caFile, serverFile, clientFile], {
      encoding: 'utf8',
    })

    expect(output).toContain(`${serverFile}: OK`)
    expect(output).toContain(`${clientFile}: OK`)
  })

  it.skipIf(!hasOpenssl)('passes openssl purpose checks for its kind', () => {
    const caFile = writePem('purpose-ca.pem', ca.certPem)
    const verify = (purpose: string, file: string): number =>
      spawnSync('openssl', ['verify', '-purpose', purpose, '-CAfile', caFile, file]).status ?? -1

    expect(verify('sslserver', writePem('p-server.pem', server.certPem))).toBe(0)
    expect(verify('sslclient', writePem('p-client.pem', client.certPem))).toBe(0)
    expect(verify('sslclient', writePem('p-server2.pem', server.certPem))).not.toBe(0)
  })

  it.skipIf(!hasOpenssl)('carries leaf extensions that openssl prints', () => {
    const serverText = opensslText(writePem('x-server.pem', server.certPem))
    const clientText = opensslText(writePem('x-client.pem', client.certPem))

    expect(serverText).toContain('TLS Web Server Authentication')
    expect(serverText).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/)
    expect(serverText).toContain('Subject Alternative Name')
    expect(clientText).toContain('TLS Web Client Authentication')
  })
})

describe('createSelfSigned', () => {
  it('splits hosts into DNS and IP names', () => {
    const pair = createSelfSigned({ hosts: ['localhost', '127.0.0.1', '::1'], validityDays: 5 })
    const info = inspectCertificate(pair.certPem)

    expect(info.sans.dns).toEqual(['localhost'])
    expect(info.sans.ip).toEqual(['127.0.0.1', '::1'])
    expect(info.commonName).toBe('localhost')
    expect(info.subject).toBe(info.issuer)
  })

  it('verifies with its own public key', () => {
    const x509 = new X509Certificate(createSelfSigned({ hosts: ['a.test'], validityDays: 1 }).certPem)

    expect(x509.verify(x509.publicKey)).toBe(true)
  })
})

describe('inspectCertificate', () => {
  it('reports names, dates and serial', () => {
    const info = inspectCertificate(server.certPem)
    const x509 = new X509Certificate(server.certPem)

    expect(info.subject).toBe('CN=api.example.test')
    expect(info.issuer).toBe('CN=Portway Test CA')
    expect(info.sans).toEqual({
      dns: ['api.example.test', '*.apps.example.test'],
      ip: ['127.0.0.1', '::1'],
    })
    expect(info.serial).toBe(x509.serialNumber.toUpperCase())
    expect(info.notAfter.getTime()).toBeGreaterThan(info.notBefore.getTime())
  })

  it.skipIf(!hasOpenssl)('prints the fingerprint as openssl does', () => {
    const file = writePem('fp.pem', server.certPem)
    const output = execFileSync('openssl', ['x509', '-in', file, '-noout', '-fingerprint', '-sha256'], {
      encoding: 'utf8',
    })

    expect(output.trim().split('=')[1]).toBe(inspectCertificate(server.certPem).sha256Fingerprint)
  })

  it('throws on text without a certificate', () => {
    expect(() => inspectCertificate('not a certificate')).toThrow()
  })
})

describe('checkKeyPair', () => {
  it('accepts a matching, valid pair', () => {
    expect(checkKeyPair({ ...server, hosts: ['api.example.test'] })).toEqual([])
  })

  it('reports a mismatched key', () => {
    const problems = checkKeyPair({ certPem: server.certPem, keyPem: client.keyPem })

    expect(problems.map((p) => p.code)).toEqual(['key-mismatch'])
  })

  it('reports an expired certificate', () => {
    const problems = checkKeyPair({ ...server, now: new Date(Date.now() + 11 * DAY_MS) })

    expect(problems.map((p) => p.code)).toEqual(['expired'])
  })

  it('reports a certificate that is not yet valid', () => {
    const problems = checkKeyPair({ ...server, now: new Date(Date.now() - DAY_MS) })

    expect(problems.map((p) => p.code)).toEqual(['not-yet-valid'])
  })

  it.each([
    ['exact name', ['api.example.test'], true],
    ['upper case and trailing dot', ['API.Example.Test.'], true],
    ['one-label wildcard', ['web.apps.example.test'], true],
    ['wildcard over two labels', ['a.web.apps.example.test'], false],
    ['wildcard parent', ['apps.example.test'], false],
    ['IPv4 SAN', ['127.0.0.1'], true],
    ['IPv4-mapped IPv6 address', ['::ffff:127.0.0.1'], true],
    ['IPv6 SAN in brackets', ['[::1]'], true],
    ['uncovered IP', ['10.0.0.1'], false],
    ['one covered host among others', ['other.test', 'api.example.test'], true],
  ])('host coverage: %s', (_case, hosts, covered) => {
    const codes = checkKeyPair({ ...server, hosts }).map((p) => p.code)

    expect(codes.includes('hosts-not-covered')).toBe(!covered)
  })

  it('reports unreadable input', () => {
    expect(checkKeyPair({ certPem: 'junk', keyPem: server.keyPem })[0]?.code).toBe(
      'invalid-certificate',
    )
    expect(checkKeyPair({ certPem: server.certPem, keyPem: 'junk' })[0]?.code).toBe('invalid-key')
  })
})
