import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, waitFor } from '../support/gateway-harness.js'
import { closedPort, startUpstream, type TestUpstream } from '../support/upstreams.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url))

describe('gateway process signals', () => {
  let child: ChildProcess | undefined
  let upstream: TestUpstream | undefined
  let dir: string | undefined

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
    await upstream?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('reopens logs and reloads on SIGHUP, exits 0 on SIGTERM', async () => {
    upstream = await startUpstream('web')
    dir = mkdtempSync(join(tmpdir(), 'portway-signals-'))
    const port = await closedPort()
    writeFileSync(join(dir, 'rules.yaml'), ingressYaml('web', [{ host: 'a.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]))
    writeFileSync(join(dir, 'gateway.yaml'), [
      `listeners: [{ name: web, address: 127.0.0.1, port: ${port} }]`,
      'rules: [rules.yaml]',
      'admin: false',
      'control: { file: control.json }',
      'logging: { destination: gateway.log }',
      'services:',
      `  web: { endpoints: [${upstream.address}] }`,
    ].join('\n'))
    child = spawn(process.execPath, [CLI, '--config', join(dir, 'gateway.yaml')], { stdio: 'ignore' })
    await waitFor(async () => (await send(port, { host: 'a.test' }).catch(() => ({ status: 0 }))).status === 200, 15_000, 'gateway to serve')
    const log = (): string => readFileSync(join(dir!, 'gateway.log'), 'utf8')
    writeFileSync(join(dir, 'rules.yaml'), ingressYaml('web', [{ host: 'b.test', paths: [{ path: '/', type: 'Prefix', service: 'web' }] }]))
    child.kill('SIGHUP')
    await waitFor(() => log().includes('log file reopened'), 5_000, 'SIGHUP log line')
    await waitFor(async () => (await send(port, { host: 'b.test' })).status === 200, 5_000, 'reloaded rules')
    expect(child.exitCode).toBeNull()
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 30_000)
})
