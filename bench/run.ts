/**
 * Benchmark harness entry point (`npm run bench`): see options.ts for flags and
 * docs/benchmarks.md for the method and the results.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBaseline, checkAgainstBaseline, noiseSection, readBaseline, writeBaseline } from './baseline.js'
import { formatSelfTime, topSelfTime } from './cpu-profile.js'
import { findingsSection } from './findings.js'
import { choosePinning, describeMachine } from './machine.js'
import { replaceDocSection, resultsSection, scenarioTable } from './markdown.js'
import { measure } from './measure.js'
import { HELP, parseBenchOptions, type BenchOptions } from './options.js'
import { addRatios, type BenchReport, type RunRecord } from './results.js'
import { SCENARIOS, type Scenario } from './scenarios.js'
import { bareHttpProxyTarget, bareHttpsTarget, bareTcpTarget, bareUndiciTarget } from './targets/bare.js'
import { directTarget } from './targets/direct.js'
import { GATEWAY_VARIANTS, gatewayTarget } from './targets/gateway.js'
import { haproxyTarget } from './targets/haproxy.js'
import { nginxTarget } from './targets/nginx.js'
import { killStartedProcesses } from './targets/processes.js'
import type { BenchContext, Target } from './targets/target.js'
import { writeTlsFiles } from './tls-files.js'
import { startUpstreams } from './upstreams.js'

const DIST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PROJECT_DIR = resolve(DIST_DIR, '..')
const RESULTS_DIR = join(PROJECT_DIR, 'bench', 'results')
const BASELINE_FILE = join(PROJECT_DIR, 'bench', 'baseline.json')
const DOCS_FILE = join(PROJECT_DIR, 'docs', 'benchmarks.md')

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

function allTargets(keepFiles: boolean): Target[] {
  return [
    directTarget,
    ...GATEWAY_VARIANTS.map((variant) => gatewayTarget(variant, keepFiles)),
    bareUndiciTarget,
    bareHttpProxyTarget,
    bareHttpsTarget,
    bareTcpTarget,
    nginxTarget(keepFiles),
    haproxyTarget(keepFiles),
  ]
}

function selectScenarios(options: BenchOptions): Scenario[] {
  if (options.only !== undefined) {
    const found = SCENARIOS.find((s) => s.name === options.only)
    if (found === undefined) throw new Error(`unknown scenario "${options.only}"; use one of ${SCENARIOS.map((s) => s.name).join(', ')}`)
    return [found]
  }
  return SCENARIOS.filter((s) => !options.quick || s.quick)
}

function selectTargets(options: BenchOptions): Target[] {
  const targets = allTargets(options.keepTemp)
  if (options.targets === undefined) return targets
  for (const name of options.targets) {
    if (!targets.some((t) => t.name === name)) throw new Error(`unknown target "${name}"; use ${targets.map((t) => t.name).join(', ')}`)
  }
  return targets.filter((t) => options.targets!.includes(t.name))
}

function summaryLine(run: RunRecord): string {
  const head = `  ${run.scenario.padEnd(16)} ${run.target.padEnd(26)}`
  if (run.status !== 'ok') return `${head} ${run.status}: ${run.reason ?? ''}`
  if (run.idleMemory !== undefined) {
    const steps = run.idleMemory.steps.map((s) => `${s.connections}: ${s.rssMb.toFixed(1)} MB`).join(', ')
    return `${head} ${run.idleMemory.kibPerConnection.toFixed(2)} KiB/conn  (${steps})`
  }
  if (run.consulFollow !== undefined) {
    const { register, critical, churn } = run.consulFollow
    return `${head} register p50 ${register.medianMs} ms p99 ${register.p99Ms} ms; critical p50 ${critical.medianMs} ms p99 ${critical.p99Ms} ms; churn CPU ${churn.cpuPercent}%`
  }
  if (run.load === undefined) return `${head} no load result`
  const l = run.load
  if (l.bytesPerSecond !== undefined) return `${head} ${((l.bytesPerSecond * 8) / 1e9).toFixed(2)} Gbit/s  errors ${l.errors}  CPU ${run.cpuPercent}%`
  const rps = Math.round(l.requestsPerSecond).toLocaleString('en-US').padStart(8)
  return `${head} ${rps} req/s  p50 ${l.latencyMs.p50} ms  p99 ${l.latencyMs.p99} ms  errors ${l.errors + l.timeouts}  non-2xx ${l.non2xx}  CPU ${run.cpuPercent}%`
}

async function runSuite(options: BenchOptions, ctx: BenchContext, scenarios: Scenario[], targets: Target[], label: string): Promise<RunRecord[]> {
  const runs: RunRecord[] = []
  const total = scenarios.length * targets.length
  let index = 0
  for (const scenario of scenarios) {
    for (const target of targets) {
      index++
      const prefix = `${label}[${index}/${total}] ${scenario.name} ${target.name}`
      const onTick = (second: number, requests: number): void => {
        if (process.stderr.isTTY) process.stderr.write(`\r${prefix}: ${second}/${options.durationS} s, ${requests} req/s   `)
      }
      if (!process.stderr.isTTY) log(`${prefix} ...`)
      const run = await measure(target, scenario, ctx, { connections: options.connections, durationS: options.durationS, warmupS: options.warmupS, onTick })
      if (process.stderr.isTTY) process.stderr.write('\r\u001b[K')
      log(summaryLine(run))
      runs.push(run)
    }
  }
  addRatios(runs)
  return runs
}

function printProfiles(runs: readonly RunRecord[]): void {
  for (const run of runs) {
    const note = run.notes.find((n) => n.startsWith('cpu profile: '))
    if (note === undefined) continue
    const file = note.slice('cpu profile: '.length)
    log(`\nCPU profile of ${run.target} in ${run.scenario}: ${file}`)
    log('Top 15 functions by self time:')
    for (const line of formatSelfTime(topSelfTime(file, 15), PROJECT_DIR)) log(`  ${line}`)
  }
}

function handleGuard(options: BenchOptions, reports: BenchReport[], command: string): number {
  if (options.writeBaseline) {
    const baseline = buildBaseline(reports, command)
    writeBaseline(BASELINE_FILE, baseline)
    replaceDocSection(DOCS_FILE, 'noise', noiseSection(baseline))
    log(`\nwrote ${BASELINE_FILE} and the noise section of ${DOCS_FILE}`)
    return 0
  }
  if (!options.check) return 0
  const lines = checkAgainstBaseline(readBaseline(BASELINE_FILE), reports)
  log('\nratio check against bench/baseline.json:')
  for (const l of lines) {
    const current = l.current === undefined ? 'missing' : l.current.toFixed(3)
    log(`  ${l.ok ? 'ok  ' : 'FAIL'} ${l.key}: ${current} (baseline ${l.baseline.toFixed(3)}, floor ${l.floor.toFixed(3)})`)
  }
  const failed = lines.filter((l) => !l.ok).length
  log(failed === 0 ? 'all ratios within their margins' : `${failed} ratio(s) fell below their floor`)
  return failed === 0 ? 0 : 1
}

async function main(argv: string[]): Promise<number> {
  const options = parseBenchOptions(argv)
  if (options.help) {
    process.stdout.write(HELP)
    return 0
  }

  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  const scenarios = selectScenarios(options)
  const targets = selectTargets(options)
  const machine = describeMachine()
  const pinning = choosePinning(machine.cores)
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`)
  log(`pinning: ${pinning.description}`)

  const tempDir = mkdtempSync(join(tmpdir(), 'portway-bench-'))
  mkdirSync(RESULTS_DIR, { recursive: true })
  const cpuProfileDir = options.cpuProf ? join(RESULTS_DIR, 'profiles') : undefined
  if (cpuProfileDir !== undefined) mkdirSync(cpuProfileDir, { recursive: true })
  const upstreams = await startUpstreams(DIST_DIR, pinning)
  log(`upstreams: a on 127.0.0.1:${upstreams.ports.a.port}, b on 127.0.0.1:${upstreams.ports.b.port}; temp dir ${tempDir}`)
  log(`tcp upstream: sink on 127.0.0.1:${upstreams.tcp.sinkPort}, echo on 127.0.0.1:${upstreams.tcp.echoPort}`)
  const tls = writeTlsFiles(tempDir)
  const ctx: BenchContext = { tempDir, distDir: DIST_DIR, upstreams: upstreams.ports, pinning, cpuProfileDir, tls, tcpUpstream: upstreams.tcp }

  const reports: BenchReport[] = []
  try {
    for (let repeat = 1; repeat <= options.repeat; repeat++) {
      const startedAt = new Date().toISOString()
      const label = options.repeat > 1 ? `(${repeat}/${options.repeat}) ` : ''
      const runs = await runSuite(options, ctx, scenarios, targets, label)
      const report: BenchReport = {
        startedAt,
        command,
        machine,
        pinning: pinning.description,
        durationS: options.durationS,
        warmupS: options.warmupS,
        connections: options.connections,
        quick: options.quick,
        runs,
      }
      reports.push(report)
      const file = join(RESULTS_DIR, `${startedAt.replaceAll(':', '-')}.json`)
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
      log(`results: ${file}`)
    }
  } finally {
    await upstreams.stop()
    if (!options.keepTemp) rmSync(tempDir, { recursive: true, force: true })
  }

  const last = reports[reports.length - 1]!
  for (const scenario of scenarios) {
    process.stdout.write(`\n### ${scenario.name}: ${scenario.title}\n\n${scenarioTable(scenario, last.runs.filter((r) => r.scenario === scenario.name))}\n`)
  }
  printProfiles(last.runs)

  const fullRun = !options.quick && options.only === undefined && options.targets === undefined && !options.cpuProf
  if (fullRun) {
    replaceDocSection(DOCS_FILE, 'results', resultsSection(last, scenarios))
    replaceDocSection(DOCS_FILE, 'findings', findingsSection(last))
    log(`updated the results and findings sections of ${DOCS_FILE}`)
  }
  return handleGuard(options, reports, command)
}

process.on('exit', killStartedProcesses)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killStartedProcesses()
    process.exit(130)
  })
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    log(`bench: ${(err as Error).message}`)
    process.exitCode = 2
  },
)
