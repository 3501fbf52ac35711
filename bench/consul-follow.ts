/**
 * Harness side of the consul-follow scenario. It starts the Consul worker before the gateway,
 * because the gateway config needs the double's address. Then it has the worker time changes
 * and write a few changes per second while this side samples the gateway's CPU.
 */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import type { FollowCommand, FollowEvent } from './load/consul-follow-worker.js'
import { sampleCpu } from './proc-stats.js'
import type { ConsulFollowResult, FollowStats } from './results.js'
import { CONSUL_SERVICES } from './scenarios.js'
import { spawnPinned, stopProcess } from './targets/processes.js'
import type { BenchContext, RunningTarget } from './targets/target.js'

/** Changes of each kind (registration, critical check); each goes to its own service. */
export const FOLLOW_CHANGES = 50
const CHURN_SECONDS = 10
const CHURN_CHANGES_PER_SECOND = 3
const EVENT_TIMEOUT_MS = 180_000

export interface ConsulSession {
  /** `host:port` of the Consul double. */
  address: string
  measure: (running: RunningTarget) => Promise<ConsulFollowResult>
  stop: () => Promise<void>
}

class EventReader {
  readonly #iterator: AsyncIterator<string>

  constructor(lines: Interface) {
    this.#iterator = lines[Symbol.asyncIterator]()
  }

  async next<E extends FollowEvent['event']>(expected: E): Promise<Extract<FollowEvent, { event: E }>> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`consul worker sent no ${expected} event within ${EVENT_TIMEOUT_MS} ms`)), EVENT_TIMEOUT_MS)
    })
    try {
      const line = await Promise.race([this.#iterator.next(), timeout])
      if (line.done === true) throw new Error(`consul worker exited before its ${expected} event`)
      const event = JSON.parse(line.value) as FollowEvent
      if (event.event !== expected) throw new Error(`consul worker sent ${event.event}, expected ${expected}`)
      return event as Extract<FollowEvent, { event: E }>
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Median, nearest-rank p99 and max of the delays; null entries count as timeouts. */
export function followStats(delays: ReadonlyArray<number | null>): FollowStats {
  const done = delays.filter((d): d is number => d !== null).sort((x, y) => x - y)
  const rank = (p: number): number => done[Math.min(done.length - 1, Math.max(0, Math.ceil((p / 100) * done.length) - 1))] ?? NaN
  const round = (ms: number): number => Math.round(ms * 100) / 100
  return { changes: delays.length, medianMs: round(rank(50)), p99Ms: round(rank(99)), maxMs: round(done[done.length - 1] ?? NaN), timeouts: delays.length - done.length }
}

function send(child: ChildProcess, command: FollowCommand): void {
  child.stdin!.write(`${JSON.stringify(command)}\n`)
}

export async function startConsulSession(ctx: BenchContext): Promise<ConsulSession> {
  const worker = join(ctx.distDir, 'bench', 'load', 'consul-follow-worker.js')
  const args = [worker, String(CONSUL_SERVICES), String(FOLLOW_CHANGES)]
  const child = spawnPinned(ctx.pinning.load, process.execPath, args, ['pipe', 'pipe', 'inherit'])
  const events = new EventReader(createInterface({ input: child.stdout! }))
  const ready = await events.next('ready').catch(async (err: unknown) => {
    await stopProcess(child)
    throw err
  })
  return {
    address: ready.address,
    measure: async (running) => {
      send(child, { command: 'follow', gatewayPort: running.port })
      const follow = await events.next('follow-result')
      send(child, { command: 'churn', durationS: CHURN_SECONDS, changesPerSecond: CHURN_CHANGES_PER_SECOND, firstService: 2 * FOLLOW_CHANGES })
      await events.next('churn-started')
      const before = sampleCpu(running.pid)
      const done = await events.next('churn-done')
      const after = sampleCpu(running.pid)
      const cpuPercent = Math.round(((after.cpuS - before.cpuS) / ((after.atMs - before.atMs) / 1000)) * 1000) / 10
      return {
        register: followStats(follow.register),
        critical: followStats(follow.critical),
        churn: { services: CONSUL_SERVICES, durationS: CHURN_SECONDS, changes: done.changes, cpuPercent },
      }
    },
    stop: async () => {
      child.stdin!.end()
      await stopProcess(child)
    },
  }
}
