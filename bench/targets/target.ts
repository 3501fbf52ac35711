/** A system under test: something that listens on a port and forwards to the upstreams. */
import type { Pinning } from '../machine.js'
import type { HostRoutes, Scenario, UpstreamName } from '../scenarios.js'
import type { TlsFiles } from '../tls-files.js'

export interface BenchContext {
  /** Per-run scratch directory for configs, logs and rule files. */
  tempDir: string
  /** Compiled harness and gateway, `dist/` of the project. */
  distDir: string
  upstreams: Record<UpstreamName, { port: number; pid: number }>
  pinning: Pinning
  /** When set, the gateway runs under `node --cpu-prof` and writes its profile here. */
  cpuProfileDir?: string
  /** Certificate and key of the HTTPS scenarios. */
  tls: TlsFiles
  /** The TCP upstream process: a byte sink and an echo server (bench/servers/tcp-upstream.ts). */
  tcpUpstream: { sinkPort: number; echoPort: number; pid: number }
  /** `host:port` of the Consul double; set only while the consul-follow scenario runs. */
  consulAddress?: string
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

/** `host:port` of the TCP server a tcp scenario sends to: the sink for bulk, else the echo server. */
export function tcpUpstreamAddress(ctx: BenchContext, scenario: Scenario): string {
  const port = scenario.load === 'tcp-bulk' ? ctx.tcpUpstream.sinkPort : ctx.tcpUpstream.echoPort
  return `127.0.0.1:${port}`
}

/** Host entries sorted so that a longer path prefix comes first within each host. */
export function sortedPaths(host: HostRoutes): HostRoutes['paths'] {
  return [...host.paths].sort((a, b) => b.prefix.length - a.prefix.length)
}
