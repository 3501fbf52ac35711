import { describe, expect, it } from 'vitest'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'
import { EndpointHealthState } from '../../../../src/proxy/health/endpoint-health-state.js'
import { selectRotation } from '../../../../src/proxy/health/rotation.js'

function makeEndpoint(id: string, weight = 1): Endpoint {
  return { id, address: `${id}:80`, host: id, port: 80, weight, inflight: 0, available: false }
}

interface Service {
  endpoints: Endpoint[]
  states: Map<string, EndpointHealthState>
}

function makeService(count: number): Service {
  const endpoints = Array.from({ length: count }, (_, i) => makeEndpoint(`e${i}`, 2))
  const states = new Map(
    endpoints.map((endpoint) => [endpoint.id, new EndpointHealthState(2, 1000)] as const),
  )
  return { endpoints, states }
}

function availableIds(endpoints: readonly Endpoint[]): string[] {
  return endpoints.filter((endpoint) => endpoint.available).map((endpoint) => endpoint.id)
}

describe('selectRotation', () => {
  it('removes endpoints the source reports critical', () => {
    const { endpoints, states } = makeService(3)
    states.get('e1')!.sourceHealth = 'critical'
    const rotation = selectRotation(endpoints, states, 50)
    expect(rotation.endpoints.map((endpoint) => endpoint.id)).toEqual(['e0', 'e2'])
    expect(rotation.total).toBe(2)
  })

  it('keeps endpoints the source reports warning', () => {
    const { endpoints, states } = makeService(2)
    states.get('e1')!.sourceHealth = 'warning'
    expect(availableIds(selectRotation(endpoints, states, 50).endpoints)).toEqual(['e0', 'e1'])
  })

  it('takes down and ejected endpoints out', () => {
    const { endpoints, states } = makeService(4)
    states.get('e1')!.setActiveStatus('down', 0)
    states.get('e2')!.setEjected(true, 0)
    const rotation = selectRotation(endpoints, states, 50)
    expect(availableIds(rotation.endpoints)).toEqual(['e0', 'e3'])
    expect(rotation.healthy).toBe(2)
    expect(rotation.isPanic).toBe(false)
  })

  it('uses every endpoint below the panic threshold', () => {
    const { endpoints, states } = makeService(4)
    states.get('e0')!.setActiveStatus('down', 0)
    states.get('e1')!.setActiveStatus('down', 0)
    states.get('e2')!.setEjected(true, 0)
    const rotation = selectRotation(endpoints, states, 50)
    expect(rotation.isPanic).toBe(true)
    expect(availableIds(rotation.endpoints)).toEqual(['e0', 'e1', 'e2', 'e3'])
  })

  it('keeps critical and drained endpoints out in panic', () => {
    const { endpoints, states } = makeService(4)
    states.get('e0')!.sourceHealth = 'critical'
    states.get('e1')!.configuredWeight = 0
    states.get('e2')!.setActiveStatus('down', 0)
    const rotation = selectRotation(endpoints, states, 80)
    expect(rotation.isPanic).toBe(true)
    expect(rotation.total).toBe(2)
    expect(availableIds(rotation.endpoints)).toEqual(['e2', 'e3'])
  })

  it('leaves survivors alone with panic disabled', () => {
    const { endpoints, states } = makeService(4)
    for (const id of ['e0', 'e1', 'e2']) states.get(id)!.setActiveStatus('down', 0)
    const rotation = selectRotation(endpoints, states, 0)
    expect(rotation.isPanic).toBe(false)
    expect(availableIds(rotation.endpoints)).toEqual(['e3'])
  })

  it('enters panic with nothing healthy', () => {
    const { endpoints, states } = makeService(2)
    for (const state of states.values()) state.setActiveStatus('down', 0)
    const rotation = selectRotation(endpoints, states, 50)
    expect(rotation.healthy).toBe(0)
    expect(availableIds(rotation.endpoints)).toEqual(['e0', 'e1'])
  })

  it('does not count drained endpoints toward panic', () => {
    const { endpoints, states } = makeService(4)
    states.get('e0')!.configuredWeight = 0
    states.get('e1')!.configuredWeight = 0
    const rotation = selectRotation(endpoints, states, 60)
    expect(rotation.isPanic).toBe(false)
    expect(availableIds(rotation.endpoints)).toEqual(['e2', 'e3'])
  })

  it('writes the slow-start weight', () => {
    const { endpoints, states } = makeService(2)
    states.get('e0')!.setActiveStatus('down', 0)
    states.get('e0')!.setActiveStatus('up', 100)
    const rotation = selectRotation(endpoints, states, 50, 600)
    expect(endpoints[0]!.weight).toBeCloseTo(2 * 0.55)
    expect(endpoints[1]!.weight).toBe(2)
    expect(rotation.nextUpdateAt).toBe(700)
  })
})
