import { execFileSync, spawnSync } from 'node:child_process'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCertsCommand } from '../../../src/tls/certs-command.js'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

let dir: string
let caDir: string

async function run(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = []
  const code = await runCertsCommand(argv, (line) => lines.push(line))
  return { code, lines }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portway-certs-cmd-'))
  caDir = join(dir, 'ca')
  const result = await run('ca', '--out', caDir, '--cn', 'Command Test CA', '--days', '30')
  if (result.code !== 0) throw new Error(result.lines.join('\n'))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('certs ca', () => {
  it('writes a CA certificate and key', () => {
    const ca = new X509Certificate(readFileSync(join(caDir, 'ca.pem')))

    expect(ca.ca).toBe(true)
    expect(ca.subject).toBe('CN=Command Test CA')
    expect(ca.checkPrivateKey(createPrivateKey(readFileSync(join(caDir, 'ca-key.pem'))))).toBe(true)
  })

  it('writes the key with mode 0600', () => {
    expect(statSync(join(caDir, 'ca-key.pem')).mode & 0o777).toBe(0o600)
  })

  it('keeps existing files without --force', async () => {
    const result = await run('ca', '--out', caDir)

    expect(result.code).toBe(1)
    expect(result.lines[0]).toContain('already exists; pass --force')
  })

  it('accepts the leading certs word', async () => {
    const result = await run('certs', 'ca', '--out', join(dir, 'ca-2'), '--days', '1')

    expect(result.code).toBe(0)
    expect(result.lines.at(-1)).toMatch(/^SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  })
})

describe('certs issue', () => {
  it('issues a server certificate with SANs', async () => {
    const outDir = join(dir, 'server')
    const result = await run(
      'issue', '--ca', caDir, '--out', outDir, '--kind', 'server', '--cn', 'api.example.test',
      '--dns', 'api.example.test,*.apps.example.test', '--ip', '127.0.0.1,::1', '--days', '5',
    )
    const cert = new X509Certificate(readFileSync(join(outDir, 'api.example.test.pem')))
    const ca = new X509Certificate(readFileSync(join(caDir, 'ca.pem')))

    expect(result.code).toBe(0)
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.subjectAltName).toBe(
      'DNS:api.example.test, DNS:*.apps.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    )
    expect(statSync(join(outDir, 'api.example.test-key.pem')).mode & 0o777).toBe(0o600)
  })

  it('uses the common name as SAN when none is given', async () => {
    const outDir = join(dir, 'server-cn')
    await run('issue', '--ca', caDir, '--out', outDir, '--kind', 'server', '--cn', 'web.test')
    const cert = new X509Certificate(readFileSync(join(outDir, 'web.test.pem')))

    expect(cert.subjectAltName).toBe('DNS:web.test')
  })

  it('issues a client certificate under --name', async () => {
    const outDir = join(dir, 'client')
    const result = await run(
      'issue', '--ca', caDir, '--out', outDir, '--kind', 'client', '--cn', 'Worker One', '--name', 'worker-1',
    )
    const cert = new X509Certificate(readFileSync(join(outDir, 'worker-1.pem')))

    expect(result.code).toBe(0)
    expect(cert.subject).toBe('CN=Worker One')
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(outDir, 'worker-1-key.pem'))))).toBe(true)
  })

  it.skipIf(!hasOpenssl)('passes openssl verify', async () => {
    const outDir = join(dir, 'openssl')
    await run('issue', '--ca', caDir, '--out', outDir, '--kind', 'server', '--cn', 'ssl.test')
    const certFile = join(outDir, 'ssl.test.pem')
    const output = execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslserver', '-CAfile', join(caDir, 'ca.pem'), certFile],
      { encoding: 'utf8' },
    )

    expect(output.trim()).toBe(`${certFile}: OK`)
  })

  it('reports a missing CA folder', async () => {
    const result = await run(
      'issue', '--ca', join(dir, 'nope'), '--out', join(dir, 'x'), '--kind', 'server', '--cn', 'a.test',
    )

    expect(result.code).toBe(1)
    expect(result.lines[0]).toContain('cannot read CA certificate')
    expect(result.lines[0]).toContain('file not found')
  })

  it.each([
    [['issue', '--bogus'], 'unknown option --bogus'],
    [['issue', '--ca'], 'option --ca needs a value'],
    [['issue', '--ca', 'c', '--out', 'o', '--cn', 'a'], 'missing --kind'],
    [['issue', '--ca', 'c', '--out', 'o', '--kind', 'both', '--cn', 'a'], 'invalid --kind "both"'],
    [['issue', '--ca', 'c', '--out', 'o', '--kind', 'server', '--cn', 'a', '--ip', '1.2.3'], 'invalid IP address "1.2.3"'],
    [['issue', '--ca', 'c', '--out', 'o', '--kind', 'server', '--cn', 'a', '--dns', 'a..b'], 'invalid DNS name "a..b"'],
    [['issue', '--ca', 'c', '--out', 'o', '--kind', 'server', '--cn', 'My Server'], 'needs --dns or --ip'],
    [['ca', '--out', 'o', '--days', '0'], 'invalid --days "0"'],
    [['ca', '--out', 'o', '--key-bits', '1000'], 'invalid --key-bits "1000"'],
    [['ca', '--out', 'o', '--force=yes'], 'option --force takes no value'],
    [['ca'], 'missing --out'],
    [['ca', '--out', 'o', 'extra'], 'got extra'],
    [['inspect'], 'expected 1 file argument'],
    [['rotate'], 'unknown command "rotate"'],
  ])('rejects %j', async (argv, message) => {
    const result = await run(...argv)

    expect(result.code).toBe(2)
    expect(result.lines[0]).toContain(message)
    expect(result.lines[1]).toBe('run "portway certs help" for usage')
  })
})

describe('certs inspect', () => {
  it('prints the certificate details', async () => {
    const outDir = join(dir, 'inspect')
    await run('issue', '--ca', caDir, '--out', outDir, '--kind', 'server', '--cn', 'show.test', '--ip', '::1')
    const file = join(outDir, 'show.test.pem')
    const result = await run('inspect', file)
    const text = result.lines.join('\n')
    const x509 = new X509Certificate(readFileSync(file))

    expect(result.code).toBe(0)
    expect(text).toContain('subject:      CN=show.test')
    expect(text).toContain('issuer:       CN=Command Test CA')
    expect(text).toContain('IP addresses: ::1')
    expect(text).toContain('days left:    364')
    expect(text).toContain(`SHA-256:      ${x509.fingerprint256}`)
  })

  it('prints each certificate of a chain file', async () => {
    const chain = join(dir, 'chain.pem')
    const ca = readFileSync(join(caDir, 'ca.pem'), 'utf8')
    writeFileSync(chain, `${ca}${ca}`)
    const result = await run('inspect', chain)

    expect(result.lines.filter((line) => line.startsWith('certificate '))).toEqual([
      `certificate 1 of 2 in ${chain}`,
      `certificate 2 of 2 in ${chain}`,
    ])
  })

  it('reports a file without certificates', async () => {
    const file = join(dir, 'empty.pem')
    writeFileSync(file, 'nothing here\n')
    const result = await run('inspect', file)

    expect(result.code).toBe(1)
    expect(result.lines[0]).toContain('contains no PEM certificate')
  })

  it('writes errors to errorOut', async () => {
    const lines: string[] = []
    const errors: string[] = []
    const code = await runCertsCommand(['inspect'], (line) => lines.push(line), (line) => errors.push(line))

    expect(code).toBe(2)
    expect(lines).toEqual([])
    expect(errors[0]).toContain('expected 1 file argument')
  })

  it('prints usage for help', async () => {
    const result = await run('help')

    expect(result.code).toBe(0)
    expect(result.lines[0]).toBe('usage: portway certs <command> [options]')
  })
})
