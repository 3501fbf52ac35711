import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSelfSigned } from '../../src/tls/forge-certs.js'
import { ingressYaml } from '../support/gateway-harness.js'
import { CLI } from '../support/gateway-process.js'

function check(dir: string): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [CLI, 'check', '--config', join(dir, 'g.yaml')], { encoding: 'utf8' })
  return { status: result.status, out: result.stdout + result.stderr }
}

describe('portway check', () => {
  let dir: string

  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('passes a valid config and rules', () => {
    dir = mkdtempSync(join(tmpdir(), 'portway-check-'))
    const pair = createSelfSigned({ hosts: ['shop.test'], validityDays: 2, keyBits: 1024 })
    writeFileSync(join(dir, 'c.pem'), pair.certPem)
    writeFileSync(join(dir, 'k.pem'), pair.keyPem)
    writeFileSync(join(dir, 'r.yaml'), ingressYaml('r', [{ host: 'shop.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]))
    writeFileSync(join(dir, 'g.yaml'), 'listeners: [{ port: 0, address: 127.0.0.1 }]\nrules: [r.yaml]\ncertificates: [{ name: shop, certFile: c.pem, keyFile: k.pem }]\nservices:\n  web: { endpoints: [127.0.0.1:9] }\n')
    const result = check(dir)
    expect(result.out).toBe('ok: 1 routes from 1 ingresses\n')
    expect(result.status).toBe(0)
  })

  it('reports missing rule paths, certificates and unknown services', () => {
    dir = mkdtempSync(join(tmpdir(), 'portway-check-'))
    writeFileSync(join(dir, 'r.yaml'), ingressYaml('r', [{ host: 'shop.test', paths: [{ path: '/', type: 'Prefix', service: 'nope' }] }]))
    writeFileSync(join(dir, 'g.yaml'), `listeners: [{ port: 0, address: 127.0.0.1 }]\nrules: [r.yaml, ${join(dir, 'missing')}]\ncertificates: [{ name: shop, certFile: c.pem, keyFile: k.pem }]\n`)
    const result = check(dir)
    expect(result.status).toBe(1)
    expect(result.out).toContain('c.pem: cannot read certificate "shop" (ENOENT)')
    expect(result.out).toContain('missing: cannot read rule path (ENOENT)')
    expect(result.out).toContain('rule default/r#0.0 disabled: service "nope" is not defined under services')
  })
})

describe('portway output', () => {
  it('exits quietly when the reader closes early', async () => {
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    expect(stderr).not.toContain('EPIPE')
    expect(code).toBe(0)
  })
})
