/** Result records of one benchmark run, as written to bench/results/<timestamp>.json. */
import type { LoadResult } from './load/load-spec.js'
import type { MachineInfo } from './machine.js'

/** Metric of a run divided by the same metric of another target in the same scenario. */
export interface RatioSet {
  requestsPerSecond: number
  /** Bulk TCP runs only. */
  bytesPerSecond?: number
  p50: number
  p99: number
  p999: number
  cpuUsPerRequest: number
  peakRssMb: number
}

/** RSS of the target after each idle-memory step. */
export interface IdleMemoryResult {
  steps: Array<{ connections: number; rssMb: number; closedByServer: number; failed: number }>
  /** RSS growth from the first step (no connections) to the last, per connection. */
  kibPerConnection: number
  /** RSS growth from the second step to the last, per connection, without first-use costs. */
  marginalKibPerConnection: number
}

/** Delays from a Consul write to the first request the gateway routed by it. */
export interface FollowStats {
  changes: number
  medianMs: number
  p99Ms: number
  maxMs: number
  /** Changes the gateway did not follow within the per-change limit. */
  timeouts: number
}

export interface ConsulFollowResult {
  /** A second instance registers; measured until its first response. */
  register: FollowStats
  /** The check of one of two instances turns critical; measured until it gets no more requests. */
  critical: FollowStats
  /** Gateway CPU with every service watched and a few changes per second, no request load. */
  churn: { services: number; durationS: number; changes: number; cpuPercent: number }
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
  idleMemory?: IdleMemoryResult
  consulFollow?: ConsulFollowResult
  notes: string[]
  ratios?: { direct?: RatioSet; nginx?: RatioSet; haproxy?: RatioSet }
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
    bytesPerSecond: run.load.bytesPerSecond === undefined ? undefined : div(run.load.bytesPerSecond, base.load.bytesPerSecond),
    p50: div(run.load.latencyMs.p50, base.load.latencyMs.p50),
    p99: div(run.load.latencyMs.p99, base.load.latencyMs.p99),
    p999: div(run.load.latencyMs.p999, base.load.latencyMs.p999),
    cpuUsPerRequest: div(run.cpuUsPerRequest, base.cpuUsPerRequest),
    peakRssMb: div(run.peakRssMb, base.peakRssMb),
  }
}

/** Fills `ratios` of every successful run against the direct, nginx and HAProxy runs of its scenario. */
export function addRatios(runs: RunRecord[]): void {
  for (const run of runs) {
    if (run.status !== 'ok') continue
    const against = (target: string): RatioSet | undefined => {
      const base = runs.find((r) => r.scenario === run.scenario && r.target === target && r.status === 'ok')
      return base === undefined ? undefined : ratioSet(run, base)
    }
    run.ratios = { direct: against('direct'), nginx: against('nginx'), haproxy: against('haproxy') }
  }
}
