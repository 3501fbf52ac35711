/** Markdown tables for docs/benchmarks.md and the terminal summary. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchReport, RunRecord } from './results.js'
import type { Scenario } from './scenarios.js'
import { num, ratio, shapeTable, statusRow } from './shape-tables.js'

function runNotes(run: RunRecord, scenario: Scenario): string {
  const notes: string[] = []
  if (scenario.reportsRouteTable === true) {
    if (run.buildMs !== undefined) notes.push(`routes built in ${num(run.buildMs, 1)} ms`)
    notes.push(`ready in ${num(run.readyMs)} ms`, `idle RSS ${num(run.idleRssMb, 1)} MB`)
  }
  if (run.reloadsSent !== undefined) notes.push(`${run.reloadsSent} rewrites, ${run.reloadsApplied ?? '?'} applied`)
  notes.push(...run.notes.filter((n) => !n.startsWith('cpu profile:')))
  return notes.join('; ').replaceAll('|', '/')
}

/**
 * Renders the markdown table of a scenario, one row per target. Targets the scenario does not
 * list, and gateway variants and bare proxies that do not serve it, are left out. A skipped nginx, HAProxy or direct row
 * stays, because it explains a missing comparison.
 */
export function scenarioTable(scenario: Scenario, allRuns: readonly RunRecord[]): string {
  const listed = (r: RunRecord): boolean => scenario.targetNames === undefined || scenario.targetNames.includes(r.target)
  const runs = allRuns.filter((r) => listed(r) && (r.status !== 'skipped' || (r.kind !== 'gateway' && r.kind !== 'bare')))
  const shaped = shapeTable(scenario, runs)
  if (shaped !== undefined) return shaped
  const header = [
    '| target | req/s | × direct | × nginx | × haproxy | p50 ms | p99 ms | p99.9 ms | errors | non-2xx | CPU % | CPU µs/req | CPU/req × nginx | peak RSS MB | RSS × nginx | load side CPU % | upstream conns | notes |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ]
  const rows = runs.map((run) => {
    if (run.status !== 'ok' || run.load === undefined) return statusRow(run, 18)
    const load = run.load
    return `| ${[
      run.target,
      num(load.requestsPerSecond),
      ratio(run.ratios?.direct?.requestsPerSecond),
      ratio(run.ratios?.nginx?.requestsPerSecond),
      ratio(run.ratios?.haproxy?.requestsPerSecond),
      num(load.latencyMs.p50, 2),
      num(load.latencyMs.p99, 2),
      num(load.latencyMs.p999, 2),
      num(load.errors + load.timeouts),
      num(load.non2xx),
      num(run.cpuPercent),
      num(run.cpuUsPerRequest, 1),
      ratio(run.ratios?.nginx?.cpuUsPerRequest),
      num(run.peakRssMb, 1),
      ratio(run.ratios?.nginx?.peakRssMb),
      num(run.loadSideCpuPercent),
      num(run.upstreamConnections),
      runNotes(run, scenario),
    ].join(' | ')} |`
  })
  return [...header, ...rows].join('\n')
}

/** Renders the results section: run facts, then a table per scenario. */
export function resultsSection(report: BenchReport, scenarios: readonly Scenario[]): string {
  const m = report.machine
  const parts = [
    '## Results',
    '',
    `- Date: ${report.startedAt}`,
    `- Command: \`${report.command}\``,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.platform}; Node ${m.node}`,
    `- Pinning: ${report.pinning}`,
    `- Each run: ${report.warmupS} s warm-up, then ${report.durationS} s measured, ${report.connections} connections`,
  ]
  for (const scenario of scenarios) {
    const runs = report.runs.filter((r) => r.scenario === scenario.name)
    if (runs.length === 0) continue
    parts.push('', `### ${scenario.name}: ${scenario.title}`, '', scenarioTable(scenario, runs))
  }
  return parts.join('\n')
}

/** Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`, or appends the section. */
export function replaceDocSection(file: string, name: string, body: string): void {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const block = `${start}\n${body}\n${end}`
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n'
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  const next = from !== -1 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`
  writeFileSync(file, next)
}
