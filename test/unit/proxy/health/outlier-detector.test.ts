import { describe, expect, it } from 'vitest'
import { ManualScheduler } from '../../../../src/proxy/health/manual-scheduler.js'
import {
  OutlierDetector,
  type OutlierDetectorOptions,
} from '../../../../src/proxy/health/outlier-detector.js'

const FAILURE = { ok: false, kind: '5xx' } as const
const CONNECT_FAILURE = { ok: false, kind: 'connect-failure' } as const
const SUCCESS = { ok: true, kind: 'ok' } as const

function makeDetector(
  ids: string[],
  options: Partial<OutlierDetectorOptions> = {},
): { detector: OutlierDetector; scheduler: ManualScheduler; changes: Array<[string, boolean]> } {
  const scheduler = new ManualScheduler()
  const changes: Array<[string, boolean]> = []
  const detector = new OutlierDetector({
    service: 's',
    consecutiveFailures: 3,
    baseEjectionMs: 1000,
    maxEjectionMs: 5000,
    maxEjectionPercent: 50,
    scheduler,
    onChange: (id, isEjected) => changes.push([id, isEjected]),
    ...options,
  })
  detector.setEndpoints(ids)
  return { detector, scheduler, changes }
}

function fail(detector: OutlierDetector, id: string, times: number): void {
  for (let i = 0; i < times; i++) detector.onResult({ id }, FAILURE)
}

/** Returns how long the endpoint stays ejected, measured in 100 ms steps. */
async function measureEjection(
  scheduler: ManualScheduler,
  detector: OutlierDetector,
  id: string,
): Promise<number> {
  let elapsed = 0
  while (detector.isEjected(id) && elapsed < 60_000) {
    await scheduler.advance(100)
    elapsed += 100
  }
  return elapsed
}

describe('OutlierDetector', () => {
  it('ejects after consecutive failures', () => {
    const { detector, changes } = makeDetector(['a', 'b'])
    fail(detector, 'a', 2)
    expect(detector.isEjected('a')).toBe(false)
    fail(detector, 'a', 1)
    expect(detector.isEjected('a')).toBe(true)
    expect(changes).toEqual([['a', true]])
  })

  it('counts connect failures and 5xx together', () => {
    const { detector } = makeDetector(['a', 'b'])
    detector.onResult({ id: 'a' }, CONNECT_FAILURE)
    detector.onResult({ id: 'a' }, FAILURE)
    detector.onResult({ id: 'a' }, CONNECT_FAILURE)
    expect(detector.isEjected('a')).toBe(true)
  })

  it('resets the count on success', () => {
    const { detector } = makeDetector(['a', 'b'])
    fail(detector, 'a', 2)
    detector.onResult({ id: 'a' }, SUCCESS)
    fail(detector, 'a', 2)
    expect(detector.isEjected('a')).toBe(false)
  })

  it('returns an endpoint after the ejection time', async () => {
    const { detector, scheduler, changes } = makeDetector(['a', 'b'])
    fail(detector, 'a', 3)
    await scheduler.advance(999)
    expect(detector.isEjected('a')).toBe(true)
    await scheduler.advance(1)
    expect(detector.isEjected('a')).toBe(false)
    expect(changes).toEqual([
      ['a', true],
      ['a', false],
    ])
  })

  it('doubles repeated ejections up to the cap', async () => {
    const { detector, scheduler } = makeDetector(['a', 'b'])
    const lengths: number[] = []
    for (let round = 0; round < 5; round++) {
      fail(detector, 'a', 3)
      lengths.push(await measureEjection(scheduler, detector, 'a'))
    }
    expect(lengths).toEqual([1000, 2000, 4000, 5000, 5000])
  })

  it('forgives past ejections after time in rotation', async () => {
    const { detector, scheduler } = makeDetector(['a', 'b'])
    fail(detector, 'a', 3)
    await measureEjection(scheduler, detector, 'a')
    fail(detector, 'a', 3)
    expect(await measureEjection(scheduler, detector, 'a')).toBe(2000)

    // Two base periods back in rotation forgive both ejections.
    await scheduler.advance(2000)
    fail(detector, 'a', 3)
    expect(await measureEjection(scheduler, detector, 'a')).toBe(1000)
  })

  it('ejects at most the max percent at once', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']
    const { detector } = makeDetector(ids, { maxEjectionPercent: 20 })
    for (const id of ids) fail(detector, id, 3)
    expect(ids.filter((id) => detector.isEjected(id))).toEqual(['a', 'b'])
    expect(detector.skippedEjections).toBe(8)
  })

  it('ejects one when percent rounds to zero', () => {
    const { detector } = makeDetector(['a', 'b', 'c'], { maxEjectionPercent: 10 })
    fail(detector, 'a', 3)
    fail(detector, 'b', 3)
    expect(detector.isEjected('a')).toBe(true)
    expect(detector.isEjected('b')).toBe(false)
  })

  it('ejects a held-back endpoint once room frees', async () => {
    const { detector, scheduler } = makeDetector(['a', 'b', 'c', 'd'], { maxEjectionPercent: 25 })
    fail(detector, 'a', 3)
    fail(detector, 'b', 3)
    expect(detector.isEjected('b')).toBe(false)
    await scheduler.advance(1000)
    fail(detector, 'b', 1)
    expect(detector.isEjected('b')).toBe(true)
  })

  it('never ejects with max percent 0', () => {
    const { detector } = makeDetector(['a', 'b'], { maxEjectionPercent: 0 })
    fail(detector, 'a', 10)
    expect(detector.isEjected('a')).toBe(false)
  })

  it('ignores unknown endpoints', () => {
    const { detector } = makeDetector(['a'])
    fail(detector, 'zz', 10)
    expect(detector.isEjected('zz')).toBe(false)
  })

  it('frees the ejection slot of a removed endpoint', () => {
    const { detector, scheduler } = makeDetector(['a', 'b', 'c', 'd'], { maxEjectionPercent: 25 })
    fail(detector, 'a', 3)
    detector.setEndpoints(['b', 'c', 'd', 'e'])
    expect(scheduler.pendingTimers).toBe(0)
    fail(detector, 'b', 3)
    expect(detector.isEjected('b')).toBe(true)
  })

  it.each([
    ['threshold', { consecutiveFailures: 0 }],
    ['base time', { baseEjectionMs: 0 }],
    ['cap below base', { baseEjectionMs: 2000, maxEjectionMs: 1000 }],
    ['percent', { maxEjectionPercent: 101 }],
  ])('rejects an invalid %s', (_name, options) => {
    expect(() => new OutlierDetector({ service: 's', ...options })).toThrow(RangeError)
  })
})
