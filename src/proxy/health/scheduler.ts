/** Handle returned by `Scheduler.setTimer`, opaque to callers. */
export type TimerHandle = unknown

/** Clock and timers, injectable so tests can drive health checks without waiting. */
export interface Scheduler {
  /** Milliseconds on a monotonic clock. */
  now(): number
  setTimer(callback: () => void, delayMs: number): TimerHandle
  clearTimer(handle: TimerHandle): void
}

/**
 * Scheduler over `performance.now()` and Node timers. Timers are unref'd, so pending health
 * checks never keep the process alive on their own.
 */
export const systemScheduler: Scheduler = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
}
