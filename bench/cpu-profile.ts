/** Reads a V8 .cpuprofile and lists the functions with the most self time. */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
}

export interface SelfTimeEntry {
  functionName: string
  /** Script URL and 1-based line, or empty for V8 pseudo-frames such as (garbage collector). */
  location: string
  selfMs: number
  percent: number
}

/** Aggregates sample hits by function name, script and line, and returns the top `limit`. */
export function topSelfTime(file: string, limit = 15): SelfTimeEntry[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const totals = new Map<string, { functionName: string; location: string; hits: number }>()
  let allHits = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    allHits += hits
    const frame = node.callFrame
    const location = frame.url === '' ? '' : `${frame.url.replace(/^file:\/\//, '')}:${frame.lineNumber + 1}`
    const key = `${frame.functionName}\u0000${location}`
    const entry = totals.get(key) ?? { functionName: frame.functionName || '(anonymous)', location, hits: 0 }
    entry.hits += hits
    totals.set(key, entry)
  }
  // Each sample stands for the same slice of the profile's wall time.
  const usPerHit = allHits === 0 ? 0 : (profile.endTime - profile.startTime) / allHits
  return [...totals.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, limit)
    .map((e) => ({
      functionName: e.functionName,
      location: e.location,
      selfMs: Math.round((e.hits * usPerHit) / 100) / 10,
      percent: allHits === 0 ? 0 : Math.round((e.hits / allHits) * 1000) / 10,
    }))
}

/** Formats the entries as aligned text lines for the terminal. */
export function formatSelfTime(entries: readonly SelfTimeEntry[], projectRoot: string): string[] {
  return entries.map((e) => {
    const where = e.location.startsWith(projectRoot) ? e.location.slice(projectRoot.length + 1) : e.location
    return `${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(9)} ms  ${e.functionName}  ${where}`
  })
}
