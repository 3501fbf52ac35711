/** Result records of one benchmark run, as written to bench/results/<timestamp>.json. */
import type { LoadResult } from './load/load-spec.js'
import type { MachineInfo } from './machine.js'

/** Metric of a run divided by the same metric of another target in the same scenario. */
export interface RatioSet {
  requestsPerSecond: number
  p50: number
  p99: number
  p999: number
  cpuUsPerRequest: number
  peakRssMb: number
}

export interface RunRecord {
  scenario: string
  target: string
  kind: string
  status: 'ok' | 'skipped' | 'failed'
  /** Reason the run was skipped or failed. */
  reason?: string
  load?: LoadResult
  /** CPU time of the target during the measured run, as a percentage of one CPU. */
  cpuPercent?: number
  cpuUsPerRequest?: number
  /**
   * CPU time of the load generator and both upstreams, as a percentage of one CPU. Near 100%
   * per CPU they are pinned to, the load side, not the target, limits the request rate.
   */
  loadSideCpuPercent?: number
  peakRssMb?: number
  /** Resident memory after startup, before any load. */
  idleRssMb?: number
  readyMs?: number
  buildMs?: number
  /** Connections the two upstreams accepted during the measured run. */
  upstreamConnections?: number
  reloadsSent?: number
  reloadsApplied?: number
  notes: string[]
  ratios?: { direct?: RatioSet; nginx?: RatioSet }
}

export interface BenchReport {
  startedAt: string
  command: string
  machine: MachineInfo
  pinning: string
  durationS: number
  warmupS: number
  connections: number
  quick: boolean
  runs: RunRecord[]
}

function ratioSet(run: RunRecord, base: RunRecord): RatioSet | undefined {
  if (run.load === undefined || base.load === undefined) return undefined
  const div = (a: number | undefined, b: number | undefined): number => (a === undefined || b === undefined || b === 0 ? NaN : a / b)
  return {
    requestsPerSecond: div(run.load.requestsPerSecond, base.load.requestsPerSecond),
    p50: div(run.load.latencyMs.p50, base.load.latencyMs.p50),
    p99: div(run.load.latencyMs.p99, base.load.latencyMs.p99),
    p999: div(run.load.latencyMs.p999, base.load.latencyMs.p999),
    cpuUsPerRequest: div(run.cpuUsPerRequest, base.cpuUsPerRequest),
    peakRssMb: div(run.peakRssMb, base.peakRssMb),
  }
}

/** Fills `ratios` of every successful run against the direct and nginx runs of its scenario. */
export function addRatios(runs: RunRecord[]): void {
  for (const run of runs) {
    if (run.status !== 'ok') continue
    const direct = runs.find((r) => r.scenario === run.scenario && r.target === 'direct' && r.status === 'ok')
    const nginx = runs.find((r) => r.scenario === run.scenario && r.target === 'nginx' && r.status === 'ok')
    run.ratios = {
      direct: direct === undefined ? undefined : ratioSet(run, direct),
      nginx: nginx === undefined ? undefined : ratioSet(run, nginx),
    }
  }
}
