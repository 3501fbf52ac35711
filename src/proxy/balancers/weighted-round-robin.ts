import { isPickable, selectEligible } from './eligible.js'
import type { Balancer, Endpoint, PickContext } from './types.js'

/**
 * Upper bound on the precomputed schedule. Weight sets whose reduced total exceeds it are
 * scaled down, which keeps each share within about `count / MAX_SCHEDULE_LENGTH` of exact.
 */
export const MAX_SCHEDULE_LENGTH = 8192

/**
 * Smooth weighted round robin, as nginx does it: every endpoint adds its weight to a running
 * score, the highest score wins and pays back the total. Weights 5, 1, 1 give a a b a c a a,
 * so a heavy endpoint's turns are spread out instead of sent in a burst.
 *
 * `update()` runs the algorithm for one full period and stores the order, so `pick()` is an
 * index into a typed array. Weights are read at `update()` time, so slow start changes them by
 * calling `update()` again.
 */
export class WeightedRoundRobinBalancer implements Balancer {
  #endpoints: Endpoint[] = []
  #schedule: Uint32Array = new Uint32Array(0)
  #cursor = 0

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = selectEligible(endpoints)
    const weights = quantizeWeights(
      this.#endpoints.map((endpoint) => endpoint.weight),
      MAX_SCHEDULE_LENGTH,
    )
    this.#schedule = buildSmoothSchedule(weights)
    this.#cursor = 0
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const schedule = this.#schedule
    const length = schedule.length

    // A skipped turn is spent, so an excluded endpoint does not get a burst of turns later.
    // NOTE: when every endpoint is excluded this walks the whole schedule before giving up.
    for (let step = 0; step < length; step++) {
      const candidate = this.#endpoints[schedule[this.#cursor]!]!
      this.#cursor = this.#cursor + 1 === length ? 0 : this.#cursor + 1
      if (isPickable(candidate, ctx.exclude)) return candidate
    }
    return undefined
  }
}

/**
 * Converts weights to positive integers with the same ratios, divided by their greatest
 * common divisor. Fractional weights (slow start) or totals above `maxTotal` are scaled to
 * a total near `maxTotal`, and every positive weight keeps at least 1.
 */
export function quantizeWeights(weights: readonly number[], maxTotal: number): Uint32Array {
  const result = new Uint32Array(weights.length)
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  const isExact = total <= maxTotal && weights.every((weight) => Number.isInteger(weight))
  const scale = isExact ? 1 : maxTotal / total

  let divisor = 0
  for (let i = 0; i < weights.length; i++) {
    const value = Math.max(1, Math.round(weights[i]! * scale))
    result[i] = value
    divisor = greatestCommonDivisor(divisor, value)
  }
  for (let i = 0; i < result.length; i++) result[i] = result[i]! / divisor
  return result
}

/** Returns one full period of the smooth weighted round-robin order, as indexes into `weights`. */
export function buildSmoothSchedule(weights: Uint32Array): Uint32Array {
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  const schedule = new Uint32Array(total)
  const current = new Float64Array(weights.length)

  for (let turn = 0; turn < total; turn++) {
    let best = 0
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    schedule[turn] = best
  }
  return schedule
}

function greatestCommonDivisor(a: number, b: number): number {
  let x = a
  let y = b
  while (y !== 0) {
    const rest = x % y
    x = y
    y = rest
  }
  return x
}
