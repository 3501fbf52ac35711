/** The portway gateway, started from dist/ with a generated config and Ingress rule file. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { reloadedRoutes, type HostRoutes, type Scenario, type UpstreamName } from '../scenarios.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { tcpUpstreamAddress, upstreamAddress, type BenchContext, type Target } from './target.js'

const SERVICE_OF: Record<UpstreamName, string> = { a: 'web', b: 'api' }

/** Renders the routing table as one Ingress with a rule per host. */
export function renderIngress(routes: readonly HostRoutes[]): string {
  const lines = [
    'apiVersion: networking.k8s.io/v1',
    'kind: Ingress',
    'metadata:',
    '  name: bench',
    '  namespace: bench',
    'spec:',
    '  rules:',
  ]
  for (const host of routes) {
    lines.push(`    - host: ${host.host}`, '      http:', '        paths:')
    for (const path of host.paths) {
      lines.push(
        `          - path: ${path.prefix}`,
        '            pathType: Prefix',
        `            backend: { service: { name: ${path.service ?? SERVICE_OF[path.upstream]}, port: { number: 80 } } }`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

/** Settings of one gateway target: proxy engine, worker processes and CPU pinning. */
export interface GatewayVariant {
  name: string
  engine: 'undici' | 'http-proxy'
  workers: number
  /** Pin to the proxy CPU (the default), or run on every CPU, the load generator's included. */
  pinned: boolean
  /** Balancing policy of both services, which then list both upstreams; the config default when unset. */
  policy?: string
}

const TCP_SERVICE = 'tcp-up'

function listenerLine(scenario: Scenario, port: number): string {
  const base = `name: bench, address: 127.0.0.1, port: ${port}`
  if (scenario.transport === 'https') return `  - { ${base}, protocol: https, tls: { defaultCertificate: bench } }`
  if (scenario.transport === 'tcp') return `  - { ${base}, protocol: tcp, service: ${TCP_SERVICE} }`
  return `  - { ${base}, protocol: http }`
}

function renderConfig(ctx: BenchContext, scenario: Scenario, variant: GatewayVariant, port: number, rulesFile: string, logFile: string): string {
  const lines = [
    'listeners:',
    listenerLine(scenario, port),
    'services:',
  ]
  if (variant.policy === undefined) {
    lines.push(
      `  ${SERVICE_OF.a}: { endpoints: ["${upstreamAddress(ctx, 'a')}"] }`,
      `  ${SERVICE_OF.b}: { endpoints: ["${upstreamAddress(ctx, 'b')}"] }`,
    )
  } else {
    // Two endpoints per service, so the policy has a choice to make on every request.
    const both = `["${upstreamAddress(ctx, 'a')}", "${upstreamAddress(ctx, 'b')}"]`
    lines.push(
      `  ${SERVICE_OF.a}: { endpoints: ${both}, balancer: ${variant.policy} }`,
      `  ${SERVICE_OF.b}: { endpoints: ${both}, balancer: ${variant.policy} }`,
    )
  }
  if (scenario.transport === 'tcp') lines.push(`  ${TCP_SERVICE}: { endpoints: ["${tcpUpstreamAddress(ctx, scenario)}"] }`)
  if (scenario.transport === 'https') {
    lines.push('certificates:', `  - { name: bench, certFile: "${ctx.tls.certFile}", keyFile: "${ctx.tls.keyFile}" }`)
  }
  if (ctx.consulAddress !== undefined) lines.push(`consul: { address: "${ctx.consulAddress}" }`)
  if (variant.workers > 1) lines.push(`workers: ${variant.workers}`)
  lines.push(
    `rules: ["${rulesFile}"]`,
    `logging: { level: info, destination: "${logFile}", asyncWrites: true, access: true }`,
    'timeouts: { shutdownMs: 2000 }',
    // Port 0: the admin API must not collide with another gateway on its default port.
    'admin: { address: 127.0.0.1, port: 0 }',
    `proxy: { engine: ${variant.engine} }`,
    '',
  )
  return lines.join('\n')
}

interface LogLine {
  msg?: string
  level?: string
  reason?: string
  ms?: number
}

function readLogLines(file: string, filter: (line: string) => boolean): LogLine[] {
  if (!existsSync(file)) return []
  const out: LogLine[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || !filter(line)) continue
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      // A line cut by a crash; skip it.
    }
  }
  return out
}

/** Waits until the log contains `count` lines with the message (one per worker process). */
async function waitForLogLine(file: string, msg: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  const needle = `"msg":"${msg}"`
  while (performance.now() < deadline) {
    if (existsSync(file) && readFileSync(file, 'utf8').split(needle).length - 1 >= count) return
    await sleep(20)
  }
  throw new Error(`gateway log ${file} has fewer than ${count} "${msg}" lines after ${timeoutMs} ms`)
}

async function findProfile(dir: string, before: ReadonlySet<string>): Promise<string | undefined> {
  // The profile is written while the process exits; give the file system a moment.
  for (let i = 0; i < 50; i++) {
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    if (fresh.length > 0) return join(dir, fresh[0]!)
    await sleep(100)
  }
  return undefined
}

/** The gateway variants of the benchmark; only `gateway-<engine>` runs outside the workers scenario. */
export const GATEWAY_VARIANTS: readonly GatewayVariant[] = [
  { name: 'gateway-undici', engine: 'undici', workers: 1, pinned: true },
  { name: 'gateway-http-proxy', engine: 'http-proxy', workers: 1, pinned: true },
  { name: 'gateway-workers-2', engine: 'undici', workers: 2, pinned: true },
  { name: 'gateway-workers-2-unpinned', engine: 'undici', workers: 2, pinned: false },
  { name: 'policy-round-robin', engine: 'undici', workers: 1, pinned: true, policy: 'round-robin' },
  { name: 'policy-weighted-round-robin', engine: 'undici', workers: 1, pinned: true, policy: 'weighted-round-robin' },
  { name: 'policy-least-connections', engine: 'undici', workers: 1, pinned: true, policy: 'least-connections' },
  { name: 'policy-consistent-hash', engine: 'undici', workers: 1, pinned: true, policy: 'consistent-hash' },
  { name: 'policy-two-choices', engine: 'undici', workers: 1, pinned: true, policy: 'two-choices' },
]

function skipReason(variant: GatewayVariant, scenario: Scenario): string | undefined {
  if (!scenario.gatewayEngines.includes(variant.engine)) return 'engine not run in this scenario'
  if (variant.workers > 1 && scenario.targetNames?.includes(variant.name) !== true) return 'runs in the workers scenario only'
  if (variant.policy !== undefined && scenario.targetNames?.includes(variant.name) !== true) return 'runs in the policies scenario only'
  return undefined
}

/** Creates the gateway target for one variant. */
export function gatewayTarget(variant: GatewayVariant, keepFiles: boolean): Target {
  const { name } = variant
  return {
    name,
    kind: 'gateway',
    supports: (scenario) => skipReason(variant, scenario),
    start: async (ctx, scenario) => {
      const port = await freePort()
      const dir = join(ctx.tempDir, `${name}-${scenario.name}`)
      // Rules, logs and config sit in separate directories: the gateway watches each rule file's
      // directory, and log writes next to the rules would keep restarting its reload debounce.
      const rulesFile = join(dir, 'rules', 'rules.yaml')
      const logFile = join(dir, 'logs', 'gateway.log')
      const configFile = join(dir, 'gateway.yaml')
      mkdirSync(join(dir, 'rules'), { recursive: true })
      mkdirSync(join(dir, 'logs'), { recursive: true })
      writeFileSync(rulesFile, renderIngress(scenario.routes()))
      writeFileSync(configFile, renderConfig(ctx, scenario, variant, port, rulesFile, logFile))
      const nodeArgs: string[] = []
      const profileDir = ctx.cpuProfileDir
      const profilesBefore = new Set(profileDir === undefined ? [] : readdirSync(profileDir))
      if (profileDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
      nodeArgs.push(join(ctx.distDir, 'src', 'cli.js'), '--config', configFile)
      const started = performance.now()
      const child = spawnPinned(variant.pinned ? ctx.pinning.proxy : [], process.execPath, nodeArgs, ['ignore', 'ignore', 'inherit'])
      let readyMs = 0
      try {
        await waitForPort(port, child)
        readyMs = performance.now() - started
        await waitForLogLine(logFile, 'gateway started', variant.workers, 30_000)
      } catch (err) {
        await stopProcess(child)
        throw err
      }
      const applied = readLogLines(logFile, (l) => l.includes('routes applied'))
      return {
        pid: child.pid!,
        port,
        readyMs,
        buildMs: applied[0]?.ms,
        reload: (n) => {
          // Write aside and rename, as config tools do, so the gateway never reads a half-written file.
          writeFileSync(`${rulesFile}.next`, renderIngress(reloadedRoutes(scenario, n)))
          renameSync(`${rulesFile}.next`, rulesFile)
        },
        countReloads: () => readLogLines(logFile, (l) => l.includes('routes applied')).filter((l) => l.reason === 'rule files changed').length,
        stop: async () => {
          await stopProcess(child, 10_000)
          const problems = readLogLines(logFile, (l) => l.includes('"level":"error"') || l.includes('"level":"fatal"'))
          const notes = problems.slice(0, 3).map((p) => `gateway logged ${p.level}: ${p.msg ?? '?'}`)
          if (problems.length > 3) notes.push(`${problems.length - 3} more error lines in the gateway log`)
          const profileFile = profileDir === undefined ? undefined : await findProfile(profileDir, profilesBefore)
          if (!keepFiles) rmSync(dir, { recursive: true, force: true })
          return { notes, profileFile }
        },
      }
    },
  }
}
