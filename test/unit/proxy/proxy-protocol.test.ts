import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import {
  encodeProxyV1,
  encodeProxyV2,
  PP2_TYPE_ALPN,
  PP2_TYPE_AUTHORITY,
  PROXY_V2_SIGNATURE,
} from '../../../src/proxy/proxy-protocol.js'

interface DecodedV2 {
  command: 'LOCAL' | 'PROXY'
  family: 'UNSPEC' | 'TCP4' | 'TCP6'
  src?: string
  dst?: string
  srcPort?: number
  dstPort?: number
  tlvs: Map<number, Buffer>
  totalBytes: number
}

/** Strict version 1 decoder written from the text format, independent of the encoder. */
function decodeProxyV1(line: string): string[] {
  expect(line.endsWith('\r\n')).toBe(true)
  expect(line.length).toBeLessThanOrEqual(107)
  const fields = line.slice(0, -2).split(' ')
  expect(fields[0]).toBe('PROXY')
  if (fields[1] === 'UNKNOWN') return fields.slice(1)

  expect(fields).toHaveLength(6)
  const [, protocol, src = '', dst = '', srcPort = '', dstPort = ''] = fields
  const version = protocol === 'TCP4' ? 4 : 6
  expect(isIP(src)).toBe(version)
  expect(isIP(dst)).toBe(version)
  for (const port of [srcPort, dstPort]) expect(port).toMatch(/^(0|[1-9][0-9]{0,4})$/)
  return fields.slice(1)
}

/** Strict version 2 decoder following the binary layout, independent of the encoder. */
function decodeProxyV2(bytes: Buffer): DecodedV2 {
  expect(bytes.subarray(0, 12).toString('latin1')).toBe('\r\n\r\n\0\r\nQUIT\n')
  const versionCommand = bytes.readUInt8(12)
  expect(versionCommand >> 4).toBe(2)
  const command = (versionCommand & 0x0f) === 0 ? 'LOCAL' : 'PROXY'
  const familyByte = bytes.readUInt8(13)
  const length = bytes.readUInt16BE(14)
  expect(bytes.length).toBe(16 + length)
  const body = bytes.subarray(16)

  let family: DecodedV2['family'] = 'UNSPEC'
  if (familyByte === 0x11) family = 'TCP4'
  if (familyByte === 0x21) family = 'TCP6'
  const decoded: DecodedV2 = { command, family, tlvs: new Map(), totalBytes: bytes.length }
  if (family === 'UNSPEC') {
    expect(familyByte).toBe(0x00)
    return decoded
  }

  const addressBytes = family === 'TCP4' ? 4 : 16
  decoded.src = formatAddress(body.subarray(0, addressBytes))
  decoded.dst = formatAddress(body.subarray(addressBytes, 2 * addressBytes))
  decoded.srcPort = body.readUInt16BE(2 * addressBytes)
  decoded.dstPort = body.readUInt16BE(2 * addressBytes + 2)
  let offset = 2 * addressBytes + 4
  while (offset < body.length) {
    const type = body.readUInt8(offset)
    const valueLength = body.readUInt16BE(offset + 1)
    decoded.tlvs.set(type, body.subarray(offset + 3, offset + 3 + valueLength))
    offset += 3 + valueLength
  }
  expect(offset).toBe(body.length)
  return decoded
}

function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return groups.join(':')
}

describe('encodeProxyV1', () => {
  it('encodes IPv4 addresses', () => {
    const line = encodeProxyV1({
      family: 'IPv4',
      srcIp: '192.0.2.10',
      srcPort: 51000,
      dstIp: '198.51.100.7',
      dstPort: 443,
    })

    expect(line).toBe('PROXY TCP4 192.0.2.10 198.51.100.7 51000 443\r\n')
    expect(decodeProxyV1(line)).toEqual(['TCP4', '192.0.2.10', '198.51.100.7', '51000', '443'])
  })

  it('encodes IPv6 addresses compressed', () => {
    const line = encodeProxyV1({
      family: 'IPv6',
      srcIp: '2001:DB8:0:0:0:0:0:1',
      srcPort: 1,
      dstIp: '::1',
      dstPort: 8443,
    })

    expect(line).toBe('PROXY TCP6 2001:db8::1 ::1 1 8443\r\n')
    expect(decodeProxyV1(line)[0]).toBe('TCP6')
  })

  it('sends IPv4-mapped IPv6 addresses as TCP4', () => {
    const line = encodeProxyV1({
      family: 'IPv6',
      srcIp: '::ffff:127.0.0.1',
      srcPort: 40000,
      dstIp: '::ffff:127.0.0.2',
      dstPort: 80,
    })

    expect(line).toBe('PROXY TCP4 127.0.0.1 127.0.0.2 40000 80\r\n')
  })

  it('maps IPv4 into TCP6 when the other side is IPv6', () => {
    const line = encodeProxyV1({ srcIp: '127.0.0.1', srcPort: 1, dstIp: '::1', dstPort: 2 })

    expect(line).toBe('PROXY TCP6 ::ffff:127.0.0.1 ::1 1 2\r\n')
    expect(decodeProxyV1(line)).toHaveLength(5)
  })

  it('fits the longest header in 107 bytes', () => {
    const ip = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const line = encodeProxyV1({ srcIp: ip, srcPort: 65535, dstIp: ip, dstPort: 65535 })

    expect(line.length).toBe(104)
    expect(decodeProxyV1(line)[0]).toBe('TCP6')
  })

  it.each([
    ['family unknown', { family: 'unknown', srcIp: '127.0.0.1', srcPort: 1, dstIp: '127.0.0.1', dstPort: 2 }],
    ['missing source', { dstIp: '127.0.0.1', dstPort: 2 }],
    ['invalid address', { srcIp: 'localhost', srcPort: 1, dstIp: '127.0.0.1', dstPort: 2 }],
    ['port out of range', { srcIp: '127.0.0.1', srcPort: 70000, dstIp: '127.0.0.1', dstPort: 2 }],
    ['fractional port', { srcIp: '127.0.0.1', srcPort: 1.5, dstIp: '127.0.0.1', dstPort: 2 }],
  ])('sends UNKNOWN for %s', (_case, info) => {
    expect(encodeProxyV1(info)).toBe('PROXY UNKNOWN\r\n')
  })
})

describe('encodeProxyV2', () => {
  it('encodes IPv4 bytes exactly', () => {
    const header = encodeProxyV2({ srcIp: '192.0.2.10', srcPort: 51000, dstIp: '198.51.100.7', dstPort: 443 })
    const expected = Buffer.concat([
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
      Buffer.from([0x21, 0x11, 0x00, 0x0c]),
      Buffer.from([192, 0, 2, 10, 198, 51, 100, 7]),
      Buffer.from([0xc7, 0x38, 0x01, 0xbb]),
    ])

    expect(header.equals(expected)).toBe(true)
  })

  it('starts with the signature', () => {
    expect(PROXY_V2_SIGNATURE.toString('latin1')).toBe('\r\n\r\n\0\r\nQUIT\n')
  })

  it('encodes IPv6 addresses', () => {
    const decoded = decodeProxyV2(
      encodeProxyV2({ srcIp: '2001:db8::1', srcPort: 1234, dstIp: '::1', dstPort: 8443 }),
    )

    expect(decoded).toMatchObject({
      command: 'PROXY',
      family: 'TCP6',
      src: '2001:db8:0:0:0:0:0:1',
      dst: '0:0:0:0:0:0:0:1',
      srcPort: 1234,
      dstPort: 8443,
      totalBytes: 16 + 36,
    })
  })

  it('sends IPv4-mapped IPv6 addresses as TCP4', () => {
    const decoded = decodeProxyV2(
      encodeProxyV2({ srcIp: '::ffff:127.0.0.1', srcPort: 5, dstIp: '127.0.0.1', dstPort: 6 }),
    )

    expect(decoded).toMatchObject({ family: 'TCP4', src: '127.0.0.1', dst: '127.0.0.1', totalBytes: 28 })
  })

  it('sends LOCAL without addresses when they are unknown', () => {
    const header = encodeProxyV2({ family: 'unknown' })

    expect(header.equals(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]))).toBe(true)
    expect(decodeProxyV2(header)).toMatchObject({ command: 'LOCAL', family: 'UNSPEC' })
  })

  it('appends ALPN and authority TLVs', () => {
    const decoded = decodeProxyV2(
      encodeProxyV2(
        { srcIp: '127.0.0.1', srcPort: 1, dstIp: '127.0.0.1', dstPort: 2 },
        { alpn: 'h2', authority: 'api.example.test' },
      ),
    )

    expect(decoded.tlvs.get(PP2_TYPE_ALPN)?.toString()).toBe('h2')
    expect(decoded.tlvs.get(PP2_TYPE_AUTHORITY)?.toString()).toBe('api.example.test')
    expect(decoded.totalBytes).toBe(16 + 12 + 3 + 2 + 3 + 16)
  })

  it('encodes port 0 and 65535', () => {
    const decoded = decodeProxyV2(encodeProxyV2({ srcIp: '10.0.0.1', srcPort: 0, dstIp: '10.0.0.2', dstPort: 65535 }))

    expect(decoded.srcPort).toBe(0)
    expect(decoded.dstPort).toBe(65535)
  })

  it('drops an IPv6 zone index', () => {
    const decoded = decodeProxyV2(encodeProxyV2({ srcIp: 'fe80::1%eth0', srcPort: 1, dstIp: 'fe80::2', dstPort: 2 }))

    expect(decoded.src).toBe('fe80:0:0:0:0:0:0:1')
  })
})
