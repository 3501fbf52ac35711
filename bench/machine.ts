/** The machine the benchmark runs on, and how processes are pinned to CPUs. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export interface MachineInfo {
  cpuModel: string
  cores: number
  node: string
  platform: string
}

export interface Pinning {
  /** `taskset -c LIST` prefix for the proxy under test; empty when not pinned. */
  proxy: string[]
  /** Prefix for the load generator and the upstreams. */
  load: string[]
  description: string
}

export function describeMachine(): MachineInfo {
  let cpuModel = 'unknown'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match !== null) cpuModel = match[1]!.trim()
  } catch {
    // Not Linux; the model stays unknown.
  }
  return { cpuModel, cores: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` }
}

function hasTaskset(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Puts the proxy under test on CPU 0 and everything else on the remaining CPUs, so the load
 * generator never takes CPU time from the proxy. Needs taskset and at least two CPUs.
 */
export function choosePinning(cores: number): Pinning {
  if (cores < 2) return { proxy: [], load: [], description: 'no pinning: fewer than 2 CPUs' }
  if (!hasTaskset()) return { proxy: [], load: [], description: 'no pinning: taskset not found' }
  const rest = cores === 2 ? '1' : `1-${cores - 1}`
  return {
    proxy: ['taskset', '-c', '0'],
    load: ['taskset', '-c', rest],
    description: `taskset: proxy under test on CPU 0; load generator and upstreams on CPU ${rest}`,
  }
}
