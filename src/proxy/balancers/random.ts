/** Source of uniform numbers in [0, 1), as `Math.random` returns. */
export type RandomSource = () => number

/**
 * Returns a seeded mulberry32 generator: a small 32-bit PRNG, good enough for load balancing
 * and for repeatable tests, not for anything that needs to be unpredictable.
 */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
