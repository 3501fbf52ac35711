import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, waitFor } from '../support/gateway-harness.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url))

describe('worker processes', () => {
  let child: ChildProcess | undefined
  let upstream: TestUpstream | undefined
  let dir: string | undefined

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
    await upstream?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('serve requests and stop on SIGTERM', async () => {
    upstream = await startUpstream('web')
    dir = mkdtempSync(join(tmpdir(), 'portway-workers-'))
    const port = await closedPort()
    const adminPort = await closedPort()
    writeFileSync(join(dir, 'rules.yaml'), ingressYaml('web', [{ host: 'app.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]))
    writeFileSync(join(dir, 'gateway.yaml'), [
      'workers: 2',
      `listeners: [{ name: web, address: 127.0.0.1, port: ${port} }]`,
      'rules: [rules.yaml]',
      `admin: { address: 127.0.0.1, port: ${adminPort} }`,
      'control: { file: control.json }',
      'timeouts: { shutdownMs: 1000 }',
      'services:',
      `  web: { endpoints: [${upstream.address}] }`,
    ].join('\n'))
    let output = ''
    child = spawn(process.execPath, [CLI, '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    await waitFor(async () => (await send(port, { host: 'app.test' }).catch(() => ({ status: 0 }))).status === 200, 15_000, 'workers to serve')
    for (let i = 0; i < 40; i++) expect((await send(port, { host: 'app.test' })).status).toBe(200)
    const accessPids = (): Set<string> => new Set([...output.matchAll(/"pid":(\d+)[^\n]*"kind":"access"/g)].map((m) => m[1]!))
    await waitFor(() => accessPids().size === 2, 3_000, 'access records from both workers')
    const metrics = await send(adminPort, { host: '127.0.0.1', path: '/metrics' })
    const served = /portway_requests_total\{[^}]*code="200"\} (\d+)/.exec(metrics.body)
    expect(Number(served?.[1])).toBeGreaterThanOrEqual(41)
    const endpoints = JSON.parse((await send(adminPort, { host: '127.0.0.1', path: '/v1/endpoints' })).body) as { services: Array<{ service: string; endpoints: Array<{ available: boolean }> }> }
    expect(endpoints.services.map((s) => s.service)).toEqual(['web'])
    expect(endpoints.services[0]?.endpoints[0]?.available).toBe(true)
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 30_000)
})
