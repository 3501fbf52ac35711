/**
 * The idle-memory measurement: opens idle keep-alive connections to a target in steps and
 * reads the target's resident memory (VmRSS of its process tree) after each step.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IdleSpec } from './load/idle-worker.js'
import { currentRssMb } from './proc-stats.js'
import type { IdleMemoryResult } from './results.js'
import { IDLE_STEPS, type Scenario } from './scenarios.js'
import { spawnPinned, stopProcess } from './targets/processes.js'
import type { BenchContext, RunningTarget } from './targets/target.js'

/** Wait after each step before reading RSS, so the target finishes its per-connection work. */
const SETTLE_MS = 1_000
const STEP_TIMEOUT_MS = 60_000

/** Soft limit on open files of this process, which every child inherits; undefined when unknown. */
function openFilesLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (match === null) return undefined
    return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1])
  } catch {
    return undefined
  }
}

/** Throws when the open-files limit cannot hold the largest step on both the client and the proxy side. */
function checkOpenFilesLimit(): void {
  const needed = 2 * Math.max(...IDLE_STEPS) + 1_000
  const limit = openFilesLimit()
  if (limit !== undefined && limit < needed) {
    throw new Error(`open-files limit is ${limit}, the idle-memory scenario needs ${needed}; raise it with ulimit -n ${needed}`)
  }
}

/** Slope in KiB per connection between two steps. */
function kibPerConnection(from: { connections: number; rssMb: number }, to: { connections: number; rssMb: number }): number {
  return to.connections === from.connections ? 0 : ((to.rssMb - from.rssMb) * 1024) / (to.connections - from.connections)
}

export async function measureIdleMemory(ctx: BenchContext, running: RunningTarget, scenario: Scenario): Promise<IdleMemoryResult> {
  checkOpenFilesLimit()
  const first = scenario.requests[0]!
  const spec: IdleSpec = { port: running.port, host: first.host, path: first.path }
  const specFile = join(ctx.tempDir, 'idle-worker.json')
  writeFileSync(specFile, JSON.stringify(spec))
  const worker = join(ctx.distDir, 'bench', 'load', 'idle-worker.js')
  const child = spawnPinned(ctx.pinning.load, process.execPath, [worker, specFile], ['pipe', 'pipe', 'inherit'])
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const steps: IdleMemoryResult['steps'] = []
  try {
    for (const connections of IDLE_STEPS) {
      child.stdin!.write(`${JSON.stringify({ open: connections })}\n`)
      const reply = await Promise.race([replies.next(), sleep(STEP_TIMEOUT_MS).then(() => undefined)])
      if (reply === undefined || reply.done === true) throw new Error(`idle worker did not finish the ${connections}-connection step`)
      const state = JSON.parse(reply.value) as { open: number; closedByServer: number; failed: number }
      await sleep(SETTLE_MS)
      steps.push({ connections: state.open, rssMb: currentRssMb(running.pid), closedByServer: state.closedByServer, failed: state.failed })
    }
  } finally {
    child.stdin!.end()
    await stopProcess(child)
  }
  const last = steps[steps.length - 1]!
  return {
    steps,
    kibPerConnection: kibPerConnection(steps[0]!, last),
    marginalKibPerConnection: kibPerConnection(steps[1] ?? steps[0]!, last),
  }
}
