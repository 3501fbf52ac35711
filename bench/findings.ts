/**
 * The findings section of docs/benchmarks.md: the gateway's ratios to the targets it is held
 * against, each with its goal and whether this run met it.
 */
import type { BenchReport, RunRecord } from './results.js'

interface Goal {
  label: string
  /** The measured value, or why it could not be computed. */
  value: number | string
  goal: string
  met: (value: number) => boolean
  digits?: number
}

const GATEWAY = 'gateway-undici'

function find(report: BenchReport, scenario: string, target: string): RunRecord | undefined {
  return report.runs.find((r) => r.scenario === scenario && r.target === target)
}

/** Divides a metric of two runs, or explains which run is missing. */
function divide(report: BenchReport, scenario: string, top: string, bottom: string, metric: (r: RunRecord) => number | undefined): number | string {
  for (const target of [top, bottom]) {
    const run = find(report, scenario, target)
    if (run === undefined) return `${scenario}/${target} did not run`
    if (run.status !== 'ok') return `${scenario}/${target} ${run.status}: ${run.reason ?? ''}`
  }
  const a = metric(find(report, scenario, top)!)
  const b = metric(find(report, scenario, bottom)!)
  return a === undefined || b === undefined || b === 0 ? `no ${scenario} value` : a / b
}

const rps = (r: RunRecord): number | undefined => r.load?.requestsPerSecond
const p99 = (r: RunRecord): number | undefined => r.load?.latencyMs.p99

function goals(report: BenchReport): Goal[] {
  const idle = find(report, 'idle-memory', GATEWAY)
  return [
    { label: 'HTTPS keep-alive req/s, gateway ÷ bare Node HTTPS proxy', value: divide(report, 'https-keepalive', GATEWAY, 'bare-https', rps), goal: '≥ 1.00', met: (v) => v >= 1 },
    { label: 'new TLS handshakes/s, gateway ÷ nginx', value: divide(report, 'https-handshakes', GATEWAY, 'nginx', rps), goal: '≥ 0.70', met: (v) => v >= 0.7 },
    { label: 'TCP bulk throughput, gateway ÷ HAProxy', value: divide(report, 'tcp-bulk', GATEWAY, 'haproxy', (r) => r.load?.bytesPerSecond), goal: '≥ 0.80', met: (v) => v >= 0.8 },
    { label: 'TCP 100-byte round trips/s, gateway ÷ nginx stream', value: divide(report, 'tcp-small', GATEWAY, 'nginx', rps), goal: '≥ 0.90', met: (v) => v >= 0.9 },
    { label: 'TCP 100-byte round trips/s, gateway ÷ HAProxy (for reference)', value: divide(report, 'tcp-small', GATEWAY, 'haproxy', rps), goal: '≥ 0.90', met: (v) => v >= 0.9 },
    {
      label: `RSS per idle keep-alive connection, gateway (KiB)`,
      value: idle?.idleMemory?.kibPerConnection ?? `idle-memory/${GATEWAY} ${idle?.status ?? 'did not run'}`,
      goal: '≤ 3.5',
      met: (v) => v <= 3.5,
      digits: 1,
    },
    {
      label: 'req/s with 10,000 hosts ÷ req/s with 10 hosts, gateway',
      value: (() => {
        const big = find(report, 'hosts-10000', GATEWAY)
        const small = find(report, 'hosts-10', GATEWAY)
        const a = big?.load?.requestsPerSecond
        const b = small?.load?.requestsPerSecond
        return a === undefined || b === undefined ? 'a hosts run is missing' : a / b
      })(),
      goal: 'within 0.95-1.05',
      met: (v) => Math.abs(v - 1) <= 0.05,
    },
    { label: 'keep-alive req/s, gateway ÷ bare undici proxy', value: divide(report, 'keepalive', GATEWAY, 'bare-undici', rps), goal: '≥ 1.00', met: (v) => v >= 1 },
    { label: 'keep-alive p99 latency, gateway ÷ nginx', value: divide(report, 'keepalive', GATEWAY, 'nginx', p99), goal: '≤ 2.00', met: (v) => v <= 2 },
  ]
}

/** Renders the findings section from one full report. */
export function findingsSection(report: BenchReport): string {
  const lines = goals(report).map((g) => {
    if (typeof g.value === 'string') return `- not measured: ${g.label} (goal ${g.goal}): ${g.value.replaceAll('|', '/')}`
    return `- ${g.met(g.value) ? 'met' : '**missed**'}: ${g.label} = ${g.value.toFixed(g.digits ?? 2)} (goal ${g.goal})`
  })
  return [
    '## Findings',
    '',
    `Ratios of \`${GATEWAY}\` from the run of ${report.startedAt}, written by the harness after a full run.`,
    '',
    ...lines,
  ].join('\n')
}
