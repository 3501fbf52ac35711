/** The portway gateway, started from dist/ with a generated config and Ingress rule file. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { reloadedRoutes, type HostRoutes, type UpstreamName } from '../scenarios.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { upstreamAddress, type BenchContext, type Target } from './target.js'

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
        `            backend: { service: { name: ${SERVICE_OF[path.upstream]}, port: { number: 80 } } }`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

function renderConfig(ctx: BenchContext, port: number, engine: string, rulesFile: string, logFile: string): string {
  return [
    'listeners:',
    `  - { name: bench, address: 127.0.0.1, port: ${port}, protocol: http }`,
    'services:',
    `  ${SERVICE_OF.a}: { endpoints: ["${upstreamAddress(ctx, 'a')}"] }`,
    `  ${SERVICE_OF.b}: { endpoints: ["${upstreamAddress(ctx, 'b')}"] }`,
    `rules: ["${rulesFile}"]`,
    `logging: { level: info, destination: "${logFile}", asyncWrites: true, access: true }`,
    'timeouts: { shutdownMs: 2000 }',
    // Port 0: the admin API must not collide with another gateway on its default port.
    'admin: { address: 127.0.0.1, port: 0 }',
    `proxy: { engine: ${engine} }`,
    '',
  ].join('\n')
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

async function waitForLogLine(file: string, msg: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(`"msg":"${msg}"`)) return
    await sleep(20)
  }
  throw new Error(`gateway log ${file} has no "${msg}" line after ${timeoutMs} ms`)
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

/** Creates the gateway target for one proxy engine. */
export function gatewayTarget(engine: 'undici' | 'http-proxy', keepFiles: boolean): Target {
  const name = `gateway-${engine}`
  return {
    name,
    kind: 'gateway',
    supports: (scenario) => (scenario.gatewayEngines.includes(engine) ? undefined : 'engine not run in this scenario'),
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
      writeFileSync(configFile, renderConfig(ctx, port, engine, rulesFile, logFile))
      const nodeArgs: string[] = []
      const profileDir = ctx.cpuProfileDir
      const profilesBefore = new Set(profileDir === undefined ? [] : readdirSync(profileDir))
      if (profileDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
      nodeArgs.push(join(ctx.distDir, 'src', 'cli.js'), '--config', configFile)
      const started = performance.now()
      const child = spawnPinned(ctx.pinning.proxy, process.execPath, nodeArgs, ['ignore', 'ignore', 'inherit'])
      let readyMs = 0
      try {
        await waitForPort(port, child)
        readyMs = performance.now() - started
        await waitForLogLine(logFile, 'gateway started', 30_000)
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
