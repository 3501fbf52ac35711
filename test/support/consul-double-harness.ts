import { Writable } from 'node:stream'
import { pino } from 'pino'
import { ConsulProvider, type ConsulProviderOptions } from '../../src/discovery/consul-provider.js'
import type { EndpointSpec } from '../../src/discovery/types.js'
import type { ConsulDouble } from './consul-double.js'

export interface LogRecord {
  level: number
  msg: string
  [field: string]: unknown
}

/** A provider against a double with fast timings, and everything it emitted and logged. */
export interface ProviderHarness {
  provider: ConsulProvider
  emits: Array<{ key: string; endpoints: readonly EndpointSpec[] }>
  logs: LogRecord[]
  /** Endpoints most recently emitted for `key`, or undefined before the first emission. */
  latest(key: string): readonly EndpointSpec[] | undefined
  emitCount(key: string): number
}

export function startProvider(double: ConsulDouble, options: ConsulProviderOptions = {}): ProviderHarness {
  const logs: LogRecord[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogRecord)
      callback()
    },
  })
  const provider = new ConsulProvider({
    address: double.address,
    waitMs: 1_000,
    timeoutMarginMs: 500,
    churnRefillMs: 50,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    random: () => 0.5,
    env: {},
    logger: pino({ level: 'debug' }, sink),
    ...options,
  })
  const emits: ProviderHarness['emits'] = []
  const latest = new Map<string, readonly EndpointSpec[]>()
  const counts = new Map<string, number>()
  provider.onChange((key, endpoints) => {
    emits.push({ key, endpoints })
    latest.set(key, endpoints)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  })
  return {
    provider,
    emits,
    logs,
    latest: (key) => latest.get(key),
    emitCount: (key) => counts.get(key) ?? 0,
  }
}

/** Endpoint ids of the latest emission for `key`, sorted. */
export function ids(harness: ProviderHarness, key: string): string[] | undefined {
  return harness.latest(key)?.map((e) => e.id)
}
