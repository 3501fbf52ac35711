/**
 * Token bucket that slows a blocking-query loop under churn. A full bucket lets requests go out
 * at once, so quiet services see changes immediately. Once a burst is spent, each request waits
 * for the next token, which takes `refillMs`.
 */
export class TokenBucket {
  #tokens: number
  #updatedAt: number

  constructor(
    readonly capacity: number,
    readonly refillMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = capacity
    this.#updatedAt = now()
  }

  /** Takes a token if one is available and returns 0, or returns the ms until one will be. */
  tryTake(): number {
    this.#refill()
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) * this.refillMs))
  }

  #refill(): void {
    const now = this.now()
    const elapsed = Math.max(0, now - this.#updatedAt)
    this.#updatedAt = now
    if (this.refillMs <= 0) {
      this.#tokens = this.capacity
      return
    }
    this.#tokens = Math.min(this.capacity, this.#tokens + elapsed / this.refillMs)
  }
}

/**
 * Exponential backoff with jitter for failed requests: the n-th consecutive failure waits a random
 * time between half and all of `min(maxMs, baseMs * 2^(n-1))`.
 */
export class Backoff {
  #failures = 0

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  get failures(): number {
    return this.#failures
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    this.#failures += 1
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#failures - 1, 30))
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2))
  }

  reset(): void {
    this.#failures = 0
  }
}
