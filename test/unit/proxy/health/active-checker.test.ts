import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ActiveChecker,
  type ActiveCheckConfig,
  type ActiveStatus,
} from '../../../../src/proxy/health/active-checker.js'
import { ManualScheduler } from '../../../../src/proxy/health/manual-scheduler.js'
import type { ProbeFunction, ProbeResult } from '../../../../src/proxy/health/probes.js'

const CONFIG: ActiveCheckConfig = {
  probe: { kind: 'http', path: '/healthz' },
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 3,
}

const TARGET = { id: 'a', host: '127.0.0.1', port: 9 }

/** Fake probe that returns the result the test sets and counts its calls. */
interface SwitchProbe {
  probe: ProbeFunction
  set(ok: boolean): void
  calls(): number
}

function makeSwitchProbe(initial: boolean): SwitchProbe {
  let ok = initial
  let calls = 0
  return {
    probe: async () => {
      calls++
      return { ok, reason: ok ? 'status 200' : 'status 503' }
    },
    set: (value) => {
      ok = value
    },
    calls: () => calls,
  }
}

function captureLogs(): { logger: pino.Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      records.push(JSON.parse(String(chunk)) as Record<string, unknown>)
      callback()
    },
  })
  return { logger: pino({ level: 'info' }, stream), records }
}

let checker: ActiveChecker | undefined

afterEach(() => {
  checker?.stop()
  checker = undefined
})

describe('ActiveChecker', () => {
  it('sets status from the first probe', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(false)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    expect(checker.status('a')).toBe('unknown')
    await scheduler.advance(0)
    expect(checker.status('a')).toBe('down')
  })

  it('goes down after fall failures', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    const changes: ActiveStatus[] = []
    checker = new ActiveChecker({
      service: 's',
      config: CONFIG,
      scheduler,
      probe: probe.probe,
      onChange: (_id, status) => changes.push(status),
    })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    expect(checker.status('a')).toBe('up')

    probe.set(false)
    await scheduler.advance(2000)
    expect(checker.status('a')).toBe('up')
    await scheduler.advance(1000)
    expect(checker.status('a')).toBe('down')
    expect(changes).toEqual(['up', 'down'])
  })

  it('comes up after rise successes', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(false)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    probe.set(true)
    await scheduler.advance(1000)
    expect(checker.status('a')).toBe('down')
    await scheduler.advance(1000)
    expect(checker.status('a')).toBe('up')
  })

  it('resets the failure count on success', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    for (const ok of [false, false, true, false, false]) {
      probe.set(ok)
      await scheduler.advance(1000)
    }
    expect(checker.status('a')).toBe('up')
  })

  it('counts a hanging probe as failed at the timeout', async () => {
    const scheduler = new ManualScheduler()
    let aborted = 0
    const hanging: ProbeFunction = (_target, signal) =>
      new Promise<ProbeResult>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted++
          resolve({ ok: true, reason: 'late' })
        })
      })
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: hanging })
    checker.setEndpoints([TARGET])
    await scheduler.advance(499)
    expect(checker.status('a')).toBe('unknown')
    await scheduler.advance(1)
    expect(checker.status('a')).toBe('down')
    expect(aborted).toBe(1)
  })

  it('counts a throwing probe as failed', async () => {
    const scheduler = new ManualScheduler()
    const throwing: ProbeFunction = () => {
      throw new Error('boom')
    }
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: throwing })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    expect(checker.status('a')).toBe('down')
  })

  it('probes once per interval', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    await scheduler.advance(10_000)
    expect(probe.calls()).toBe(11)
  })

  it('stops probing a removed endpoint', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    checker.setEndpoints([])
    expect(scheduler.pendingTimers).toBe(0)
    expect(checker.status('a')).toBe('unknown')
  })

  it('restarts an endpoint whose address changed', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    checker = new ActiveChecker({ service: 's', config: CONFIG, scheduler, probe: probe.probe })
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    checker.setEndpoints([{ ...TARGET, port: 10 }])
    expect(checker.status('a')).toBe('unknown')
    expect(scheduler.pendingTimers).toBe(1)
  })

  it('logs each transition once', async () => {
    const scheduler = new ManualScheduler()
    const probe = makeSwitchProbe(true)
    const { logger, records } = captureLogs()
    const options = { service: 's', config: CONFIG, scheduler, probe: probe.probe, logger }
    checker = new ActiveChecker(options)
    checker.setEndpoints([TARGET])
    await scheduler.advance(0)
    probe.set(false)
    await scheduler.advance(10_000)

    const warnings = records.filter((record) => record.level === 40)
    const infos = records.filter((record) => record.level === 30)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ service: 's', endpoint: 'a', status: 'down' })
    expect(warnings[0]).toMatchObject({ reason: 'status 503' })
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({ endpoint: 'a', status: 'up' })
  })

  it.each([
    ['intervalMs', { intervalMs: 0 }],
    ['timeoutMs', { timeoutMs: -1 }],
    ['rise', { rise: 1.5 }],
    ['fall', { fall: 0 }],
    ['path', { probe: { kind: 'http' as const, path: 'healthz' } }],
  ])('rejects an invalid %s', (_name, override) => {
    const config = { ...CONFIG, ...override }
    const probe = makeSwitchProbe(true).probe
    expect(() => new ActiveChecker({ service: 's', config, probe })).toThrow(RangeError)
  })
})
