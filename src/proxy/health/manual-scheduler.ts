import type { Scheduler, TimerHandle } from './scheduler.js'

interface ManualTimer {
  at: number
  callback: () => void
}

/** Max timers one `advance()` runs, so a timer that re-arms at 0 ms cannot spin forever. */
const MAX_TIMERS_PER_ADVANCE = 100_000

/**
 * Scheduler whose clock moves only when `advance()` is called: for tests and simulations.
 * Due timers run in time order, and pending promise callbacks settle before each timer fires.
 */
export class ManualScheduler implements Scheduler {
  #now: number
  #nextId = 1
  readonly #timers = new Map<number, ManualTimer>()

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), callback })
    return id
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.size
  }

  /** Moves the clock forward by `ms`, running every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    for (let ran = 0; ran < MAX_TIMERS_PER_ADVANCE; ran++) {
      await settlePending()
      const due = this.#takeEarliestDue(end)
      if (due === undefined) break
      this.#now = due.at
      due.callback()
    }
    this.#now = end
    await settlePending()
  }

  #takeEarliestDue(end: number): ManualTimer | undefined {
    let earliestId = -1
    let earliest: ManualTimer | undefined
    // Map iteration follows insertion order, so equal times fire in the order they were set.
    for (const [id, timer] of this.#timers) {
      if (timer.at > end || (earliest !== undefined && timer.at >= earliest.at)) continue
      earliestId = id
      earliest = timer
    }
    if (earliest !== undefined) this.#timers.delete(earliestId)
    return earliest
  }
}

function settlePending(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
