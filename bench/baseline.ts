/**
 * The regression guard: ratios of the gateway to the direct upstream and to the bare undici
 * proxy, compared with bench/baseline.json. Ratios, not absolute numbers, so the guard holds on
 * a slower or busier machine as long as all targets slow down alike.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchReport } from './results.js'

/** Smallest margin `buildBaseline` assigns, so a drop of 10% or less never fails the check. */
export const MIN_MARGIN = 0.1
/** The margin is this many times the relative spread (max - min) / median seen across repeats. */
export const SPREAD_FACTOR = 2
/**
 * Largest margin: however noisy a ratio was, the check still fails when it drops below 10% of
 * its baseline, which catches a gateway that errors or stalls.
 */
export const MAX_MARGIN = 0.9

export interface BaselineRatio {
  median: number
  min: number
  max: number
  /** (max - min) / median over the repeats. */
  spread: number
  /** The check fails when the ratio falls below median × (1 - margin). */
  margin: number
}

export interface Baseline {
  createdAt: string
  command: string
  machine: string
  repeats: number
  minMargin: number
  spreadFactor: number
  maxMargin: number
  ratios: Record<string, BaselineRatio>
}

/** Gateway ratios of one report, keyed `scenario/target ÷ reference`. */
export function gatewayRatios(report: BenchReport): Map<string, number> {
  const out = new Map<string, number>()
  const rps = (scenario: string, target: string): number | undefined =>
    report.runs.find((r) => r.scenario === scenario && r.target === target && r.status === 'ok')?.load?.requestsPerSecond
  for (const run of report.runs) {
    if (run.kind !== 'gateway' || run.status !== 'ok' || run.load === undefined) continue
    for (const reference of ['direct', 'bare-undici']) {
      const base = rps(run.scenario, reference)
      if (base !== undefined && base > 0) out.set(`${run.scenario}/${run.target} ÷ ${reference}`, run.load.requestsPerSecond / base)
    }
  }
  return out
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function collect(reports: readonly BenchReport[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>()
  for (const report of reports) {
    for (const [key, value] of gatewayRatios(report)) byKey.set(key, [...(byKey.get(key) ?? []), value])
  }
  return byKey
}

export function buildBaseline(reports: readonly BenchReport[], command: string): Baseline {
  const ratios: Record<string, BaselineRatio> = {}
  for (const [key, values] of collect(reports)) {
    const mid = median(values)
    const spread = (Math.max(...values) - Math.min(...values)) / mid
    ratios[key] = {
      median: round(mid),
      min: round(Math.min(...values)),
      max: round(Math.max(...values)),
      spread: round(spread),
      margin: round(Math.min(MAX_MARGIN, Math.max(MIN_MARGIN, SPREAD_FACTOR * spread))),
    }
  }
  const m = reports[0]!.machine
  return {
    createdAt: new Date().toISOString(),
    command,
    machine: `${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
    repeats: reports.length,
    minMargin: MIN_MARGIN,
    spreadFactor: SPREAD_FACTOR,
    maxMargin: MAX_MARGIN,
    ratios,
  }
}

export function readBaseline(file: string): Baseline {
  if (!existsSync(file)) throw new Error(`no baseline at ${file}; create one with npm run bench -- --write-baseline`)
  return JSON.parse(readFileSync(file, 'utf8')) as Baseline
}

export function writeBaseline(file: string, baseline: Baseline): void {
  writeFileSync(file, `${JSON.stringify(baseline, null, 2)}\n`)
}

export interface CheckLine {
  key: string
  baseline: number
  current: number | undefined
  floor: number
  ok: boolean
}

/** Compares the median ratio of the reports with the baseline; a missing ratio fails too. */
export function checkAgainstBaseline(baseline: Baseline, reports: readonly BenchReport[]): CheckLine[] {
  const current = collect(reports)
  return Object.entries(baseline.ratios).map(([key, b]) => {
    const values = current.get(key)
    const value = values === undefined ? undefined : median(values)
    const floor = b.median * (1 - b.margin)
    return { key, baseline: b.median, current: value, floor, ok: value !== undefined && value >= floor }
  })
}

/** Renders the noise section of docs/benchmarks.md: spread per ratio and the margin chosen from it. */
export function noiseSection(baseline: Baseline): string {
  const rows = Object.entries(baseline.ratios).map(
    ([key, r]) => `| ${key} | ${r.min.toFixed(3)} | ${r.median.toFixed(3)} | ${r.max.toFixed(3)} | ${(r.spread * 100).toFixed(1)}% | ${(r.margin * 100).toFixed(1)}% |`,
  )
  return [
    '## Noise and the check margin',
    '',
    `Measured on ${baseline.createdAt} (${baseline.machine}) with \`${baseline.command}\`: the quick suite ran ${baseline.repeats} times.`,
    `Spread is (max - min) / median of the ${baseline.repeats} values. The margin of each ratio is`,
    `${SPREAD_FACTOR} × spread, at least ${MIN_MARGIN * 100}% and at most ${MAX_MARGIN * 100}%; \`--check\` fails when the ratio falls`,
    'below median × (1 - margin).',
    '',
    '| ratio (req/s) | min | median | max | spread | margin |',
    '|---|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n')
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000
}
