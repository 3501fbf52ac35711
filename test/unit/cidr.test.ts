import { describe, expect, it } from 'vitest'
import { CidrSet, parseCidr } from '../../src/util/cidr.js'

function set(...blocks: string[]): CidrSet {
  return new CidrSet(blocks.map((b) => {
    const parsed = parseCidr(b)
    if (parsed === undefined) throw new Error(`bad block ${b}`)
    return parsed
  }))
}

describe('CIDR matching', () => {
  it.each([
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['::1/128', '::1', true],
    ['::/0', '::1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['10.0.0.0/8', '2001:db8::1', false],
    ['::ffff:0:0/96', '::ffff:10.0.0.1', false],
  ])('%s contains %s: %s', (block, ip, expected) => {
    expect(set(block).has(ip)).toBe(expected)
  })

  it.each(['10.0.0.0/33', '10.0.0/8', 'fe80::/129', 'host.example', '1.2.3.4/x'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined()
  })
})
