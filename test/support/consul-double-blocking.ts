import type { ServerResponse } from 'node:http'
import type { QueryResult } from './consul-double-queries.js'
import { HttpError, parseGoDuration, readQueryUint } from './consul-double-util.js'

/** Consul's default and maximum blocking wait. */
export const DEFAULT_WAIT_MS = 5 * 60_000
export const MAX_WAIT_MS = 10 * 60_000

interface Waiter {
  route: string
  topics: readonly string[]
  /** Re-runs the query; answers when its index moved past the client's. */
  wake(): void
  /** Answers now with the current result, whatever its index. */
  release(): void
  /** Drops the waiter without answering. */
  cancel(): void
}

/** Parses `?index` and `?wait`; `waitMs` includes no jitter. */
export function readBlockingParams(query: URLSearchParams): { minIndex: bigint; waitMs: number } {
  const minIndex = readQueryUint(query, 'index', 'index') ?? 0n
  const waitText = query.get('wait')
  let waitMs = DEFAULT_WAIT_MS
  if (waitText !== null && waitText !== '') {
    const parsed = parseGoDuration(waitText)
    if (parsed === undefined || parsed < 0) throw new HttpError(400, 'Invalid wait time')
    if (parsed > 0) waitMs = Math.min(parsed, MAX_WAIT_MS)
  }
  return { minIndex, waitMs }
}

/**
 * Blocked readers, keyed by the topics they watch. A reader is answered when a write moves its
 * query's index past `?index`, when `wait` plus jitter runs out (with the current index, which can
 * be lower than the client's), or when a test releases it.
 */
export class WaiterSet {
  readonly #byTopic = new Map<string, Set<Waiter>>()
  readonly #all = new Set<Waiter>()

  get size(): number {
    return this.#all.size
  }

  count(route?: string): number {
    let n = 0
    for (const waiter of this.#all) if (route === undefined || waiter.route === route) n += 1
    return n
  }

  wake(topics: readonly string[]): void {
    const hit = new Set<Waiter>()
    for (const topic of topics) for (const waiter of this.#byTopic.get(topic) ?? []) hit.add(waiter)
    for (const waiter of hit) waiter.wake()
  }

  release(route?: string): void {
    for (const waiter of [...this.#all]) if (route === undefined || waiter.route === route) waiter.release()
  }

  cancelAll(): void {
    for (const waiter of [...this.#all]) waiter.cancel()
  }

  /** Holds `res` until the query result changes past `minIndex`, then calls `send` once. */
  block(opts: {
    route: string
    topics: readonly string[]
    minIndex: bigint
    totalWaitMs: number
    res: ServerResponse
    run: () => QueryResult
    send: (result: QueryResult) => void
  }): void {
    let timer: NodeJS.Timeout | undefined
    const remove = () => {
      clearTimeout(timer)
      this.#all.delete(waiter)
      for (const topic of opts.topics) this.#byTopic.get(topic)?.delete(waiter)
    }
    const finish = (result: QueryResult) => {
      remove()
      opts.send(result)
    }
    const waiter: Waiter = {
      route: opts.route,
      topics: opts.topics,
      wake: () => {
        const result = opts.run()
        if (BigInt(result.index) > opts.minIndex) finish(result)
      },
      release: () => finish(opts.run()),
      cancel: remove,
    }
    this.#all.add(waiter)
    for (const topic of opts.topics) {
      let set = this.#byTopic.get(topic)
      if (!set) this.#byTopic.set(topic, (set = new Set()))
      set.add(waiter)
    }
    timer = setTimeout(() => finish(opts.run()), opts.totalWaitMs)
    opts.res.once('close', remove)
  }
}
