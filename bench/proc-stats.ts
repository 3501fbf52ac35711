/** CPU time and memory of a process and its children, read from /proc (Linux only). */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

export interface CpuSample {
  /** CPU seconds of the process, its live children, and its reaped children. */
  cpuS: number
  atMs: number
}

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond
  try {
    ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    ticksPerSecond = 100
  }
  return ticksPerSecond
}

/** Fields of /proc/PID/stat after the command name; index 0 is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** Returns the process and all its live descendants. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>()
  let entries: string[] = []
  try {
    entries = readdirSync('/proc')
  } catch {
    return [root]
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    const ppid = Number(statFields(Number(name))?.[1] ?? -1)
    const list = parents.get(ppid) ?? []
    list.push(Number(name))
    parents.set(ppid, list)
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.shift()!
    out.push(pid)
    queue.push(...(parents.get(pid) ?? []))
  }
  return out
}

/**
 * Samples CPU time of a process tree: utime+stime of every live process plus cutime+cstime of
 * the root, which holds the time of children that already exited, such as nginx workers
 * replaced by a reload.
 */
export function sampleCpu(root: number): CpuSample {
  let ticks = 0
  for (const pid of processTree(root)) {
    const fields = statFields(pid)
    if (fields === undefined) continue
    ticks += Number(fields[11]) + Number(fields[12])
    if (pid === root) ticks += Number(fields[13]) + Number(fields[14])
  }
  return { cpuS: ticks / clockTicks(), atMs: performance.now() }
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
    return match === null ? 0 : Number(match[1])
  } catch {
    return 0
  }
}

/** Peak resident set size (VmHWM) summed over the live processes of the tree, in MiB. */
export function peakRssMb(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + statusKb(pid, 'VmHWM'), 0) / 1024
}

/** Current resident set size (VmRSS) summed over the live processes of the tree, in MiB. */
export function currentRssMb(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0) / 1024
}
