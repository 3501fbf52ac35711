import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { WeightedRoundRobinBalancer } from '../../../../src/proxy/balancers/weighted-round-robin.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'
import { ManualScheduler } from '../../../../src/proxy/health/manual-scheduler.js'
import { ServiceHealth, type ServiceEndpoint } from '../../../../src/proxy/health/service-health.js'

function makeEntry(id: string, weight = 1): ServiceEndpoint {
  const endpoint: Endpoint = {
    id,
    address: `${id}:80`,
    host: id,
    port: 80,
    weight,
    inflight: 0,
    available: true,
  }
  return { endpoint, configuredWeight: weight, sourceHealth: 'passing' }
}

function countPicks(balancer: WeightedRoundRobinBalancer, picks: number): Map<string, number> {
  const counts = new Map<string, number>()
  for (let i = 0; i < picks; i++) {
    const id = balancer.pick({ clientIp: '' })?.id ?? 'none'
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

function captureLevels(): { logger: pino.Logger; levels: number[]; messages: string[] } {
  const levels: number[] = []
  const messages: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      const record = JSON.parse(String(chunk)) as { level: number; msg: string }
      levels.push(record.level)
      messages.push(record.msg)
      callback()
    },
  })
  return { logger: pino({ level: 'info' }, stream), levels, messages }
}

describe('ServiceHealth', () => {
  it('updates the balancer on health changes', () => {
    const balancer = new WeightedRoundRobinBalancer()
    const health = new ServiceHealth({ service: 's', balancer, scheduler: new ManualScheduler() })
    health.setEndpoints([makeEntry('a'), makeEntry('b'), makeEntry('c')])
    health.setActiveStatus('b', 'down')
    expect(countPicks(balancer, 100).get('b')).toBeUndefined()
    health.setActiveStatus('b', 'up')
    expect(countPicks(balancer, 99).get('b')).toBe(33)
  })

  it('ramps a returning endpoint step by step', async () => {
    const scheduler = new ManualScheduler()
    const balancer = new WeightedRoundRobinBalancer()
    const health = new ServiceHealth({ service: 's', balancer, scheduler, slowStartMs: 10_000 })
    const entries = [makeEntry('a', 10), makeEntry('b', 10)]
    health.setEndpoints(entries)
    health.setEjected('b', true)
    await scheduler.advance(5000)
    health.setEjected('b', false)

    expect(entries[1]!.endpoint.weight).toBeCloseTo(1)
    await scheduler.advance(5000)
    expect(entries[1]!.endpoint.weight).toBeCloseTo(5.5)
    expect(countPicks(balancer, 155).get('b')).toBe(55)
    await scheduler.advance(5000)
    expect(entries[1]!.endpoint.weight).toBe(10)
    expect(scheduler.pendingTimers).toBe(0)
  })

  it('ramps an endpoint that joins later', () => {
    const scheduler = new ManualScheduler()
    const balancer = new WeightedRoundRobinBalancer()
    const health = new ServiceHealth({ service: 's', balancer, scheduler, slowStartMs: 1000 })
    const first = [makeEntry('a', 10)]
    health.setEndpoints(first)
    expect(first[0]!.endpoint.weight).toBe(10)
    const joined = makeEntry('b', 10)
    health.setEndpoints([...first, joined])
    expect(joined.endpoint.weight).toBeCloseTo(1)
  })

  it('removes an endpoint that turns critical', () => {
    const balancer = new WeightedRoundRobinBalancer()
    const health = new ServiceHealth({ service: 's', balancer, scheduler: new ManualScheduler() })
    const entries = [makeEntry('a'), makeEntry('b')]
    health.setEndpoints(entries)
    health.setEndpoints([entries[0]!, { ...entries[1]!, sourceHealth: 'critical' }])
    expect(health.rotation.endpoints.map((endpoint) => endpoint.id)).toEqual(['a'])
    expect(countPicks(balancer, 10).get('a')).toBe(10)
  })

  it('logs panic entry and exit once each', () => {
    const { logger, levels, messages } = captureLevels()
    const balancer = new WeightedRoundRobinBalancer()
    const scheduler = new ManualScheduler()
    const health = new ServiceHealth({ service: 's', balancer, logger, scheduler })
    health.setEndpoints([makeEntry('a'), makeEntry('b'), makeEntry('c')])
    health.setActiveStatus('a', 'down')
    health.setActiveStatus('b', 'down')
    health.setActiveStatus('c', 'down')
    expect(health.rotation.isPanic).toBe(true)
    health.setActiveStatus('a', 'up')
    health.setActiveStatus('b', 'up')

    expect(levels).toEqual([40, 30])
    expect(messages[0]).toContain('panic')
  })

  it('warns once when nothing is healthy without panic', () => {
    const { logger, levels } = captureLevels()
    const balancer = new WeightedRoundRobinBalancer()
    const health = new ServiceHealth({
      service: 's',
      balancer,
      logger,
      panicThresholdPercent: 0,
      scheduler: new ManualScheduler(),
    })
    health.setEndpoints([makeEntry('a')])
    health.setEjected('a', true)
    health.setEndpoints([makeEntry('a')])
    expect(balancer.pick({ clientIp: '' })).toBeUndefined()
    expect(levels).toEqual([40])
  })
})
