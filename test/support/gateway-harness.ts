import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfigFile } from '../../src/config/load-config.js'
import { formatProblem } from '../../src/errors.js'
import { Gateway, type GatewayOptions } from '../../src/gateway.js'

export interface LogLine {
  level: string
  msg?: string
  [key: string]: unknown
}

/** Creates a pino logger that keeps every line in memory, parsed. */
export function memoryLogger(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    },
  })
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, stream)
  return { log, lines }
}

export interface RunningGateway {
  gateway: Gateway
  port: number
  dir: string
  lines: LogLine[]
  writeFile(name: string, text: string): void
  stop(): Promise<void>
}

export interface GatewaySetup {
  /** Config YAML; rule paths are relative to the temp dir the files are written into. */
  config: string
  files?: Record<string, string>
  /** Folders to create in the temp dir before the files are written. */
  dirs?: string[]
  options?: Partial<GatewayOptions>
}

/** Writes config and rule files into a temp dir and starts a gateway on them. */
export async function startGateway(setup: GatewaySetup): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'portway-test-'))
  const writeFile = (name: string, text: string): void => writeFileSync(join(dir, name), text)
  for (const name of setup.dirs ?? []) mkdirSync(join(dir, name), { recursive: true })
  for (const [name, text] of Object.entries(setup.files ?? {})) writeFile(name, text)
  writeFile('gateway.yaml', setup.config)
  const result = loadConfigFile(join(dir, 'gateway.yaml'))
  if (!result.ok) throw new Error(`test config invalid:\n${result.problems.map(formatProblem).join('\n')}`)
  const { log, lines } = memoryLogger()
  const gateway = new Gateway(result.config, { log, watch: true, pollMs: 100, ...setup.options })
  await gateway.start()
  const port = gateway.listeners[0]?.port ?? 0
  return {
    gateway,
    port,
    dir,
    lines,
    writeFile,
    async stop() {
      await gateway.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface SimpleResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** Sends one request over a fresh connection and reads the whole response. */
export function send(port: number, opts: { host?: string; path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.host !== undefined) headers.host = opts.host
    const req = httpRequest({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/**
 * Sends raw bytes over a fresh connection and returns everything received until the server
 * closes it. Fails when nothing arrives before an error or within `timeoutMs`.
 */
export function sendRaw(port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    const chunks: Buffer[] = []
    let failure: Error | undefined
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err) => (failure = err))
    socket.on('close', () => {
      if (chunks.length === 0 && failure !== undefined) reject(failure)
      else resolve(Buffer.concat(chunks).toString())
    })
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no close within ${timeoutMs} ms`)))
  })
}

/** Polls `check` until it returns true or `timeoutMs` passes; for waiting on file watchers. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Builds a one-document Ingress rule file. */
export function ingressYaml(name: string, rules: Array<{ host?: string; paths: Array<{ path: string; type: string; service: string }> }>, extra = ''): string {
  const lines = ['apiVersion: networking.k8s.io/v1', 'kind: Ingress', 'metadata:', `  name: ${name}`, 'spec:']
  if (extra !== '') lines.push(extra)
  lines.push('  rules:')
  for (const rule of rules) {
    lines.push(rule.host === undefined ? '    - http:' : `    - host: "${rule.host}"`)
    if (rule.host !== undefined) lines.push('      http:')
    lines.push('        paths:')
    for (const p of rule.paths) {
      lines.push(`          - path: ${p.path}`, `            pathType: ${p.type}`, '            backend:', `              service: { name: ${p.service}, port: { number: 80 } }`)
    }
  }
  return lines.join('\n') + '\n'
}
