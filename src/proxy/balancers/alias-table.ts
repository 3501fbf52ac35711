import type { RandomSource } from './random.js'

/**
 * Walker's alias table (Vose's construction): after an O(n) build, draws an index with
 * probability proportional to its weight in O(1), using one random number per draw.
 */
export class AliasTable {
  readonly size: number
  readonly #threshold: Float64Array
  readonly #alias: Uint32Array

  constructor(weights: readonly number[]) {
    const count = weights.length
    const total = weights.reduce((sum, weight) => sum + weight, 0)
    this.size = count
    this.#threshold = new Float64Array(count)
    this.#alias = new Uint32Array(count)
    if (count === 0 || !(total > 0)) return

    const scaled = weights.map((weight) => (weight * count) / total)
    const small: number[] = []
    const large: number[] = []
    scaled.forEach((value, index) => (value < 1 ? small : large).push(index))

    while (small.length > 0 && large.length > 0) {
      const low = small.pop()!
      const high = large.pop()!
      this.#threshold[low] = scaled[low]!
      this.#alias[low] = high
      scaled[high] = scaled[high]! + scaled[low]! - 1
      ;(scaled[high]! < 1 ? small : large).push(high)
    }
    // Whatever is left is 1 up to rounding error, so it always keeps its own slot.
    for (const index of large) this.#threshold[index] = 1
    for (const index of small) this.#threshold[index] = 1
  }

  /** Draws one index; returns -1 when the table is empty. */
  draw(random: RandomSource): number {
    if (this.size === 0) return -1
    const scaled = random() * this.size
    const slot = Math.min(Math.floor(scaled), this.size - 1)
    return scaled - slot < this.#threshold[slot]! ? slot : this.#alias[slot]!
  }
}
