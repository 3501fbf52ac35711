/** Runs one scenario against one target: start, warm up, measure, collect, stop. */
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startConsulSession, type ConsulSession } from './consul-follow.js'
import { measureIdleMemory } from './idle-memory.js'
import type { LoadEvent, LoadResult, LoadSpec, TcpLoadSpec } from './load/load-spec.js'
import { currentRssMb, peakRssMb, sampleCpu, type CpuSample } from './proc-stats.js'
import type { RunRecord } from './results.js'
import type { Scenario } from './scenarios.js'
import { checkRouting } from './target-probe.js'
import { probe, spawnPinned } from './targets/processes.js'
import type { BenchContext, RunningTarget, Target } from './targets/target.js'

export interface MeasureOptions {
  connections: number
  durationS: number
  warmupS: number
  /** Called about once a second with requests completed in the last second. */
  onTick: (second: number, requests: number) => void
}

interface UpstreamCounters {
  connections: number
  requests: number
}

async function upstreamConnections(ctx: BenchContext): Promise<number> {
  let total = 0
  for (const up of Object.values(ctx.upstreams)) {
    const reply = await probe(up.port, 'stats', '/__stats')
    total += (JSON.parse(reply.body) as UpstreamCounters).connections
  }
  return total
}

interface LoadRun {
  result: LoadResult
  cpuStart: CpuSample
  cpuEnd: CpuSample
  /** CPU seconds of the load generator and both upstreams during the measured run. */
  loadSideCpuS: number
  connectionsAtStart: number
  reloadsSent: number
}

function loadSidePids(ctx: BenchContext, workerPid: number): number[] {
  return [workerPid, ctx.upstreams.a.pid, ctx.upstreams.b.pid]
}

/** Chooses the load worker script and builds its spec for a requests, tcp-bulk or tcp-echo scenario. */
function loadWorker(ctx: BenchContext, running: RunningTarget, scenario: Scenario, options: MeasureOptions): { script: string; spec: LoadSpec | TcpLoadSpec } {
  const connections = scenario.connections ?? options.connections
  if (scenario.transport === 'tcp') {
    const spec: TcpLoadSpec = {
      port: running.port,
      connections,
      warmupS: options.warmupS,
      durationS: options.durationS,
      mode: scenario.load === 'tcp-bulk' ? 'bulk' : 'echo',
      messageBytes: 100,
    }
    return { script: 'tcp-load-worker.js', spec }
  }
  const spec: LoadSpec = {
    url: `${scenario.transport}://127.0.0.1:${running.port}`,
    connections,
    warmupS: options.warmupS,
    durationS: options.durationS,
    requests: scenario.requests,
    closeEachRequest: scenario.closeEachRequest,
  }
  if (scenario.transport === 'https') spec.tls = { serverName: ctx.tls.serverName }
  return { script: 'load-worker.js', spec }
}

function runLoad(ctx: BenchContext, running: RunningTarget, scenario: Scenario, options: MeasureOptions): Promise<LoadRun> {
  const { script, spec } = loadWorker(ctx, running, scenario, options)
  const worker = join(ctx.distDir, 'bench', 'load', script)
  const child = spawnPinned(ctx.pinning.load, process.execPath, [worker, JSON.stringify(spec)], ['ignore', 'pipe', 'inherit'])
  return new Promise((resolve, reject) => {
    let cpuStart: CpuSample | undefined
    let loadSideStart = 0
    const loadSideCpuS = (): number => loadSidePids(ctx, child.pid!).reduce((sum, pid) => sum + sampleCpu(pid).cpuS, 0)
    let connectionsAtStart: Promise<number> = Promise.resolve(0)
    let reloadTimer: NodeJS.Timeout | undefined
    let reloadsSent = 0
    let second = 0
    let settled = false
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      const event = JSON.parse(line) as LoadEvent
      if (event.event === 'measuring') {
        cpuStart = sampleCpu(running.pid)
        loadSideStart = loadSideCpuS()
        connectionsAtStart = upstreamConnections(ctx)
        if (scenario.reloadEveryMs !== undefined && running.reload !== undefined) {
          reloadTimer = setInterval(() => running.reload!(++reloadsSent), scenario.reloadEveryMs)
        }
      } else if (event.event === 'tick') {
        options.onTick(++second, event.requests)
      } else {
        const cpuEnd = sampleCpu(running.pid)
        const loadSide = loadSideCpuS() - loadSideStart
        clearInterval(reloadTimer)
        settled = true
        connectionsAtStart.then(
          (count) => resolve({ result: event.result, cpuStart: cpuStart ?? cpuEnd, cpuEnd, loadSideCpuS: loadSide, connectionsAtStart: count, reloadsSent }),
          reject,
        )
      }
    })
    child.on('exit', (code) => {
      clearInterval(reloadTimer)
      if (!settled) reject(new Error(`load worker exited with code ${code} before a result`))
    })
  })
}

async function measureLoad(ctx: BenchContext, running: RunningTarget, scenario: Scenario, options: MeasureOptions, record: RunRecord): Promise<void> {
  const run = await runLoad(ctx, running, scenario, options)
  record.load = run.result
  const cpuS = run.cpuEnd.cpuS - run.cpuStart.cpuS
  const wallS = (run.cpuEnd.atMs - run.cpuStart.atMs) / 1000
  record.cpuPercent = round((cpuS / wallS) * 100, 1)
  record.loadSideCpuPercent = round((run.loadSideCpuS / wallS) * 100, 1)
  record.cpuUsPerRequest = run.result.requests > 0 ? round((cpuS / run.result.requests) * 1e6, 1) : undefined
  record.peakRssMb = round(peakRssMb(running.pid), 1)
  record.upstreamConnections = (await upstreamConnections(ctx)) - run.connectionsAtStart - 2
  if (scenario.reloadEveryMs !== undefined && running.reload !== undefined) {
    record.reloadsSent = run.reloadsSent
    record.reloadsApplied = running.countReloads?.()
  }
}

function skipReason(target: Target, scenario: Scenario): string | undefined {
  if (scenario.targetNames !== undefined && !scenario.targetNames.includes(target.name)) return 'not part of this scenario'
  return target.supports(scenario)
}

/** Measures one target in one scenario; failures become a 'failed' record, not an exception. */
export async function measure(target: Target, scenario: Scenario, ctx: BenchContext, options: MeasureOptions): Promise<RunRecord> {
  const record: RunRecord = { scenario: scenario.name, target: target.name, kind: target.kind, status: 'ok', notes: [] }
  const skip = skipReason(target, scenario)
  if (skip !== undefined) return { ...record, status: 'skipped', reason: skip }
  let running: RunningTarget | undefined
  let consul: ConsulSession | undefined
  try {
    let startCtx = ctx
    if (scenario.load === 'consul-follow') {
      consul = await startConsulSession(ctx)
      startCtx = { ...ctx, consulAddress: consul.address }
    }
    running = await target.start(startCtx, scenario)
    record.readyMs = Math.round(running.readyMs)
    record.buildMs = running.buildMs
    record.idleRssMb = round(currentRssMb(running.pid), 1)
    if (consul !== undefined) {
      // The Consul worker waits until the gateway routes every service before it times changes.
      record.consulFollow = await consul.measure(running)
      record.peakRssMb = round(peakRssMb(running.pid), 1)
    } else if (scenario.load === 'idle-connections') {
      await checkRouting(ctx, running, scenario)
      record.idleMemory = await measureIdleMemory(ctx, running, scenario)
      record.peakRssMb = round(peakRssMb(running.pid), 1)
    } else {
      await checkRouting(ctx, running, scenario)
      await measureLoad(ctx, running, scenario, options, record)
    }
  } catch (err) {
    record.status = 'failed'
    record.reason = (err as Error).message
  }
  if (running !== undefined) {
    const report = await running.stop()
    record.notes.push(...report.notes)
    if (report.profileFile !== undefined) record.notes.push(`cpu profile: ${report.profileFile}`)
  }
  await consul?.stop()
  return record
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

