import { describe, expect, it } from 'vitest'
import { buildUpstreamHeaders, filterResponseHeaders } from '../../../src/proxy/headers.js'

const info = { clientIp: '10.0.0.9', proto: 'https' }

describe('upstream request headers', () => {
  it('drops hop-by-hop and Connection-named fields', () => {
    const out = buildUpstreamHeaders(['Host', 'a.test', 'Connection', 'keep-alive, X-Secret', 'X-Secret', 's', 'TE', 'trailers', 'Upgrade', 'h2c', 'Accept', '*/*'], 'keep-alive, X-Secret', info)
    expect(out).toEqual(['Host', 'a.test', 'Accept', '*/*', 'x-forwarded-for', '10.0.0.9', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'a.test'])
  })

  it('drops proxy credentials', () => {
    const out = buildUpstreamHeaders(['Proxy-Authorization', 'Basic c2VjcmV0', 'Authorization', 'Bearer t'], undefined, info)
    expect(out.slice(0, 2)).toEqual(['Authorization', 'Bearer t'])
    expect(out).not.toContain('Proxy-Authorization')
  })

  it('joins repeated X-Forwarded-For into one chain', () => {
    const out = buildUpstreamHeaders(['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Proto', 'http'], undefined, info)
    expect(out).toEqual(['x-forwarded-for', '1.1.1.1, 2.2.2.2, 10.0.0.9', 'x-forwarded-proto', 'https'])
  })
})

describe('upstream response headers', () => {
  it('drops hop-by-hop and Connection-named fields', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'x-hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'X-Keep', 'k'].map((v) => Buffer.from(v))
    expect(filterResponseHeaders(raw)).toEqual(['Content-Type', 'text/plain', 'X-Keep', 'k'])
  })

  it('keeps non-ASCII value bytes unchanged', () => {
    const value = Buffer.from('attachment; filename="naïve.txt"', 'utf8')
    const [, out] = filterResponseHeaders([Buffer.from('Content-Disposition'), value])
    expect(Buffer.from(out!, 'latin1').equals(value)).toBe(true)
  })
})
