/** Markdown tables of the scenarios that are not measured in requests per second. */
import type { RunRecord } from './results.js'
import { IDLE_STEPS, type Scenario } from './scenarios.js'

export function num(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '-'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function ratio(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '-' : value.toFixed(2)
}

/** Notes of a row, with `|` escaped for markdown. */
export function plainNotes(run: RunRecord): string {
  return run.notes.filter((n) => !n.startsWith('cpu profile:')).join('; ').replaceAll('|', '/')
}

/** Renders the row of a run that did not finish, padded to `columns` cells. */
export function statusRow(run: RunRecord, columns: number): string {
  return `| ${run.target} | ${run.status}: ${(run.reason ?? '').replaceAll('|', '/')} ${'|'.repeat(columns - 1)}`
}

const GIB = 1024 ** 3

function bulkTable(runs: readonly RunRecord[]): string {
  const header = [
    '| target | Gbit/s | × direct | × haproxy | × nginx | errors | CPU % | CPU s/GiB | peak RSS MB | load side CPU % | notes |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ]
  const rows = runs.map((run) => {
    const bytesPerSecond = run.load?.bytesPerSecond
    if (run.status !== 'ok' || run.load === undefined || bytesPerSecond === undefined) return statusRow(run, 11)
    const cpuSPerGib = run.cpuPercent === undefined || bytesPerSecond === 0 ? undefined : run.cpuPercent / 100 / (bytesPerSecond / GIB)
    return `| ${[
      run.target,
      num((bytesPerSecond * 8) / 1e9, 2),
      ratio(run.ratios?.direct?.bytesPerSecond),
      ratio(run.ratios?.haproxy?.bytesPerSecond),
      ratio(run.ratios?.nginx?.bytesPerSecond),
      num(run.load.errors),
      num(run.cpuPercent),
      num(cpuSPerGib, 3),
      num(run.peakRssMb, 1),
      num(run.loadSideCpuPercent),
      plainNotes(run),
    ].join(' | ')} |`
  })
  return [...header, ...rows].join('\n')
}

function idleTable(runs: readonly RunRecord[]): string {
  const stepColumns = IDLE_STEPS.map((n) => `RSS MB at ${num(n)}`)
  const header = [
    `| target | ${stepColumns.join(' | ')} | KiB/conn (${num(IDLE_STEPS[0])}→${num(IDLE_STEPS[IDLE_STEPS.length - 1])}) | KiB/conn (${num(IDLE_STEPS[1])}→${num(IDLE_STEPS[IDLE_STEPS.length - 1])}) | closed by target | failed | notes |`,
    `|---|${IDLE_STEPS.map(() => '--:|').join('')}--:|--:|--:|--:|---|`,
  ]
  const rows = runs.map((run) => {
    const idle = run.idleMemory
    if (run.status !== 'ok' || idle === undefined) return statusRow(run, IDLE_STEPS.length + 6)
    const last = idle.steps[idle.steps.length - 1]
    return `| ${[
      run.target,
      ...idle.steps.map((s) => num(s.rssMb, 1)),
      num(idle.kibPerConnection, 2),
      num(idle.marginalKibPerConnection, 2),
      num(last?.closedByServer),
      num(last?.failed),
      plainNotes(run),
    ].join(' | ')} |`
  })
  return [...header, ...rows].join('\n')
}

function followTable(runs: readonly RunRecord[]): string {
  const header = [
    '| target | register p50 ms | register p99 ms | register max ms | critical p50 ms | critical p99 ms | critical max ms | not followed | CPU % with changes | routes built ms | RSS MB | notes |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ]
  const rows = runs.map((run) => {
    const follow = run.consulFollow
    if (run.status !== 'ok' || follow === undefined) return statusRow(run, 12)
    const { register, critical, churn } = follow
    return `| ${[
      run.target,
      num(register.medianMs, 2),
      num(register.p99Ms, 2),
      num(register.maxMs, 2),
      num(critical.medianMs, 2),
      num(critical.p99Ms, 2),
      num(critical.maxMs, 2),
      num(register.timeouts + critical.timeouts),
      `${num(churn.cpuPercent, 1)} (${churn.changes} changes in ${churn.durationS} s, ${num(churn.services)} services)`,
      num(run.buildMs, 1),
      num(run.peakRssMb, 1),
      plainNotes(run),
    ].join(' | ')} |`
  })
  return [...header, ...rows].join('\n')
}

/** Renders the table of a scenario whose load is not `requests`, or undefined for those. */
export function shapeTable(scenario: Scenario, runs: readonly RunRecord[]): string | undefined {
  if (scenario.load === 'tcp-bulk') return bulkTable(runs)
  if (scenario.load === 'idle-connections') return idleTable(runs)
  if (scenario.load === 'consul-follow') return followTable(runs)
  return undefined
}
