/** A system under test: something that listens on a port and forwards to the upstreams. */
import type { Pinning } from '../machine.js'
import type { HostRoutes, Scenario, UpstreamName } from '../scenarios.js'

export interface BenchContext {
  /** Per-run scratch directory for configs, logs and rule files. */
  tempDir: string
  /** Compiled harness and gateway, `dist/` of the project. */
  distDir: string
  upstreams: Record<UpstreamName, { port: number; pid: number }>
  pinning: Pinning
  /** When set, the gateway runs under `node --cpu-prof` and writes its profile here. */
  cpuProfileDir?: string
}

export interface RunningTarget {
  /** Root process whose CPU time and memory are measured (with its children). */
  pid: number
  port: number
  /** From spawn until the port accepts connections. */
  readyMs: number
  /** Route build time the target reports itself (the gateway's 'routes applied' line). */
  buildMs?: number
  /** Applies config change number `n` (rewrite and signal); absent when the target has no config. */
  reload?: (n: number) => void
  /** Config changes the target reports as applied; absent when it does not report them. */
  countReloads?: () => number
  stop: () => Promise<TargetStopReport>
}

export interface TargetStopReport {
  notes: string[]
  profileFile?: string
}

export interface Target {
  name: string
  kind: 'direct' | 'gateway' | 'bare' | 'nginx' | 'haproxy'
  /** Returns why the target cannot run the scenario, or undefined when it can. */
  supports: (scenario: Scenario) => string | undefined
  start: (ctx: BenchContext, scenario: Scenario) => Promise<RunningTarget>
}

export function upstreamAddress(ctx: BenchContext, name: UpstreamName): string {
  return `127.0.0.1:${ctx.upstreams[name].port}`
}

/** Host entries sorted so that a longer path prefix comes first within each host. */
export function sortedPaths(host: HostRoutes): HostRoutes['paths'] {
  return [...host.paths].sort((a, b) => b.prefix.length - a.prefix.length)
}
