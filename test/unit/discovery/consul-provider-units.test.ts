import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveConsulConnection } from '../../../src/discovery/consul-config.js'
import { sameEndpoints, toEndpoints, worstStatus, type HealthServiceEntry } from '../../../src/discovery/consul-entries.js'
import { Backoff, TokenBucket } from '../../../src/discovery/consul-rate.js'

describe('resolveConsulConnection', () => {
  it.each([
    ['defaults to loopback', {}, {}, { host: '127.0.0.1', port: 8500, secure: false }],
    ['reads CONSUL_HTTP_ADDR', {}, { CONSUL_HTTP_ADDR: 'consul.internal:8600' }, { host: 'consul.internal', port: 8600, secure: false }],
    ['takes https from the address scheme', {}, { CONSUL_HTTP_ADDR: 'https://consul.internal:8501' }, { port: 8501, secure: true }],
    ['takes https from CONSUL_HTTP_SSL', {}, { CONSUL_HTTP_ADDR: 'consul.internal:8501', CONSUL_HTTP_SSL: 'true' }, { secure: true }],
    ['lets an http scheme win over CONSUL_HTTP_SSL', {}, { CONSUL_HTTP_ADDR: 'http://c:8500', CONSUL_HTTP_SSL: '1' }, { secure: false }],
    ['uses the scheme default port', {}, { CONSUL_HTTP_ADDR: 'https://c' }, { port: 443, secure: true }],
    ['prefers the explicit address', { address: '10.0.0.1:8500' }, { CONSUL_HTTP_ADDR: 'c:1' }, { host: '10.0.0.1', port: 8500 }],
    ['keeps IPv6 brackets', { address: '[::1]:8500' }, {}, { host: '[::1]', port: 8500 }],
    ['reads CONSUL_HTTP_TOKEN', {}, { CONSUL_HTTP_TOKEN: 'env-token' }, { token: 'env-token' }],
    ['prefers the explicit token', { token: 'mine' }, { CONSUL_HTTP_TOKEN: 'env-token' }, { token: 'mine' }],
  ])('%s', (_name, options, env, expected) => {
    expect(resolveConsulConnection(options, env)).toMatchObject(expected)
  })

  it('ignores an unparsable CONSUL_HTTP_SSL with a warning', () => {
    const resolved = resolveConsulConnection({}, { CONSUL_HTTP_SSL: 'yes' })
    expect(resolved.secure).toBe(false)
    expect(resolved.warnings).toHaveLength(1)
  })

  it.each(['unix:///var/run/consul.sock', 'http://c:8500/v1', '::::'])('rejects address %s', (address) => {
    expect(() => resolveConsulConnection({ address }, {})).toThrow(/invalid Consul address/)
  })

  it('reads the CA file from CONSUL_CACERT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'consul-ca-'))
    try {
      const file = join(dir, 'ca.pem')
      writeFileSync(file, 'PEM')
      const resolved = resolveConsulConnection({}, { CONSUL_CACERT: file })
      expect(resolved.caFile).toBe(file)
      expect(resolved.ca?.toString()).toBe('PEM')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fails on a missing CA file', () => {
    expect(() => resolveConsulConnection({ caFile: '/nonexistent/ca.pem' }, {})).toThrow(/cannot read Consul CA file/)
  })
})

describe('TokenBucket', () => {
  it('allows a burst, then one request per refill', () => {
    let now = 0
    const bucket = new TokenBucket(2, 1000, () => now)
    expect(bucket.tryTake()).toBe(0)
    expect(bucket.tryTake()).toBe(0)
    expect(bucket.tryTake()).toBe(1000)
    now = 400
    expect(bucket.tryTake()).toBe(600)
    now = 1000
    expect(bucket.tryTake()).toBe(0)
    expect(bucket.tryTake()).toBe(1000)
  })

  it('refills to the burst after a quiet period', () => {
    let now = 0
    const bucket = new TokenBucket(2, 1000, () => now)
    bucket.tryTake()
    bucket.tryTake()
    now = 60_000
    expect(bucket.tryTake()).toBe(0)
    expect(bucket.tryTake()).toBe(0)
    expect(bucket.tryTake()).toBeGreaterThan(0)
  })
})

describe('Backoff', () => {
  it('doubles up to the cap within the jitter range', () => {
    const low = new Backoff(100, 1000, () => 0)
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([50, 100, 200, 400, 500])
    const high = new Backoff(100, 1000, () => 1)
    expect([high.next(), high.next(), high.next(), high.next(), high.next()]).toEqual([100, 200, 400, 800, 1000])
  })

  it('starts over after reset', () => {
    const backoff = new Backoff(100, 1000, () => 1)
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.next()).toBe(100)
  })
})

function entry(node: string, id: string, statuses: string[], extra: Partial<HealthServiceEntry['Service']> = {}): HealthServiceEntry {
  return {
    Node: { Node: node, Address: `10.0.0.${node.length}` },
    Service: { ID: id, Service: 'web', Tags: [], Address: '', Port: 80, Meta: null, Weights: { Passing: 4, Warning: 1 }, ...extra },
    Checks: statuses.map((Status, i) => ({ CheckID: `c${i}`, Status })),
  }
}

describe('toEndpoints', () => {
  it('takes the worst status across node and service checks', () => {
    expect(worstStatus(entry('n', 'a', ['passing', 'warning']))).toBe('warning')
    expect(worstStatus(entry('n', 'a', ['warning', 'critical', 'passing']))).toBe('critical')
    expect(worstStatus(entry('n', 'a', ['maintenance']))).toBe('critical')
    expect(worstStatus(entry('n', 'a', []))).toBe('passing')
  })

  it('keeps only the allowed states with their weights', () => {
    const entries = [entry('n1', 'a', ['passing']), entry('n1', 'b', ['warning']), entry('n1', 'c', ['critical'])]
    expect(toEndpoints(entries, new Set(['passing'])).map((e) => e.id)).toEqual(['n1/a'])
    const both = toEndpoints(entries, new Set(['passing', 'warning']))
    expect(both.map((e) => [e.id, e.weight])).toEqual([
      ['n1/a', 4],
      ['n1/b', 1],
    ])
  })

  it('falls back to the node address and filters by port', () => {
    const entries = [entry('n1', 'a', [], { Port: 8080 }), entry('n1', 'b', [], { Port: 9090, Address: '192.0.2.7' })]
    expect(toEndpoints(entries, new Set(['passing'])).map((e) => `${e.host}:${e.port}`)).toEqual(['10.0.0.2:8080', '192.0.2.7:9090'])
    expect(toEndpoints(entries, new Set(['passing']), 9090).map((e) => e.id)).toEqual(['n1/b'])
  })

  it('compares sets regardless of input order', () => {
    const a = toEndpoints([entry('n1', 'a', []), entry('n2', 'b', [])], new Set(['passing']))
    const b = toEndpoints([entry('n2', 'b', []), entry('n1', 'a', [])], new Set(['passing']))
    expect(sameEndpoints(a, b)).toBe(true)
    expect(sameEndpoints(a, b.slice(1))).toBe(false)
  })
})
