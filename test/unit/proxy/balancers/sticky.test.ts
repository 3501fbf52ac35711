import { describe, expect, it } from 'vitest'
import {
  StickySessions,
  buildSetCookie,
  endpointCookieKey,
  readCookie,
} from '../../../../src/proxy/balancers/sticky.js'
import type { Endpoint } from '../../../../src/proxy/balancers/types.js'

function makeEndpoint(id: string, weight = 1): Endpoint {
  return { id, address: id, host: '10.0.0.1', port: 80, weight, inflight: 0, available: true }
}

describe('StickySessions', () => {
  it('finds the pinned endpoint by its key', () => {
    const endpoints = [makeEndpoint('10.0.0.1:80'), makeEndpoint('10.0.0.2:80')]
    const sticky = new StickySessions()
    sticky.update(endpoints)
    const key = sticky.keyOf(endpoints[1]!)
    expect(sticky.find(key)).toBe(endpoints[1])
  })

  it('keeps the address out of the key', () => {
    const key = endpointCookieKey('10.0.0.1:80')
    expect(key).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(key).not.toContain('10.0.0.1')
  })

  it('derives a different key with a secret', () => {
    expect(endpointCookieKey('a', 's1')).not.toBe(endpointCookieKey('a'))
    expect(endpointCookieKey('a', 's1')).not.toBe(endpointCookieKey('a', 's2'))
  })

  it.each([
    ['a missing cookie', undefined],
    ['an empty cookie', ''],
    ['an unknown key', 'AAAAAAAAAAAAAAAA'],
  ])('fails over on %s', (_case, value) => {
    const sticky = new StickySessions()
    sticky.update([makeEndpoint('a')])
    expect(sticky.find(value)).toBeUndefined()
  })

  it('fails over from an unavailable endpoint', () => {
    const endpoint = makeEndpoint('a')
    const sticky = new StickySessions()
    sticky.update([endpoint])
    endpoint.available = false
    expect(sticky.find(sticky.keyOf(endpoint))).toBeUndefined()
  })

  it('fails over from an excluded endpoint', () => {
    const endpoint = makeEndpoint('a')
    const sticky = new StickySessions()
    sticky.update([endpoint])
    expect(sticky.find(sticky.keyOf(endpoint), new Set([endpoint]))).toBeUndefined()
  })

  it('keeps sessions on a drained endpoint by default', () => {
    const endpoint = makeEndpoint('a', 0)
    const keeping = new StickySessions()
    keeping.update([endpoint])
    expect(keeping.find(keeping.keyOf(endpoint))).toBe(endpoint)

    const strict = new StickySessions({ keepDrained: false })
    strict.update([endpoint])
    expect(strict.find(strict.keyOf(endpoint))).toBeUndefined()
  })

  it('fails over after the endpoint is removed', () => {
    const endpoint = makeEndpoint('a')
    const sticky = new StickySessions()
    sticky.update([endpoint])
    const key = sticky.keyOf(endpoint)
    sticky.update([makeEndpoint('b')])
    expect(sticky.find(key)).toBeUndefined()
  })
})

describe('buildSetCookie', () => {
  it('sets HttpOnly, SameSite and path', () => {
    expect(buildSetCookie('pw_sticky', 'abc', { maxAgeSeconds: 3600 })).toBe(
      'pw_sticky=abc; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax',
    )
  })

  it('adds domain and Secure when asked', () => {
    const header = buildSetCookie('s', 'v', { path: '/app', domain: 'example.test', secure: true })
    expect(header).toBe('s=v; Domain=example.test; Path=/app; HttpOnly; SameSite=Lax; Secure')
  })

  it.each([
    ['name', () => buildSetCookie('bad name', 'v')],
    ['value', () => buildSetCookie('n', 'a;b')],
    ['path', () => buildSetCookie('n', 'v', { path: '/;x' })],
    ['max-age', () => buildSetCookie('n', 'v', { maxAgeSeconds: 1.5 })],
  ])('rejects an invalid %s', (_field, build) => {
    expect(build).toThrow(TypeError)
  })
})

describe('readCookie', () => {
  it.each([
    ['single pair', 'sid=abc', 'abc'],
    ['later pair', 'a=1; sid=abc; b=2', 'abc'],
    ['no space after semicolon', 'a=1;sid=abc', 'abc'],
    ['quoted value', 'sid="abc"', 'abc'],
    ['name as a prefix of another', 'sidx=1; sid=2', '2'],
    ['space before equals', 'sid =abc', 'abc'],
    ['empty value', 'sid=', ''],
  ])('reads a %s', (_case, header, expected) => {
    expect(readCookie(header, 'sid')).toBe(expected)
  })

  it.each([
    ['missing header', undefined],
    ['other cookies only', 'a=1; b=2'],
    ['name inside a value', 'a=sid=1'],
    ['pair without equals', 'sid; a=1'],
  ])('returns undefined for %s', (_case, header) => {
    expect(readCookie(header, 'sid')).toBeUndefined()
  })
})
