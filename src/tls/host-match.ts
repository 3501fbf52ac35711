import { isIP } from 'node:net'

/**
 * Normalizes a host name for comparison: lower case, without a trailing dot, and IPv6
 * literals without brackets. Returns '' for an empty name.
 */
export function normalizeHost(host: string): string {
  let name = host.trim().toLowerCase()
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1)
  if (name.endsWith('.')) name = name.slice(0, -1)
  return name
}

/**
 * Checks whether a DNS pattern from a certificate or a route covers a host name. A wildcard
 * covers exactly one leftmost label (RFC 6125 §6.4.3), so `*.example.test` covers
 * `a.example.test` but neither `example.test` nor `a.b.example.test`.
 */
export function matchesDnsPattern(pattern: string, host: string): boolean {
  const patternName = normalizeHost(pattern)
  const name = normalizeHost(host)
  if (patternName === '' || name === '') return false
  if (!patternName.startsWith('*.')) return patternName === name

  const dot = name.indexOf('.')
  if (dot <= 0) return false
  return name.slice(dot + 1) === patternName.slice(2)
}

/** Returns the one-label wildcard that could cover a host (`a.b.test` -> `*.b.test`), if any. */
export function wildcardFor(host: string): string | undefined {
  const name = normalizeHost(host)
  const dot = name.indexOf('.')
  if (dot <= 0 || dot === name.length - 1) return undefined
  return `*${name.slice(dot)}`
}

/** Converts an IP address to its 16-byte IPv6 form, so that equal addresses compare equal. */
export function ipToBytes(ip: string): Buffer | undefined {
  const address = normalizeHost(ip)
  const version = isIP(address)
  if (version === 4) {
    return Buffer.from([...new Array<number>(10).fill(0), 0xff, 0xff, ...ipv4Parts(address)])
  }
  if (version !== 6) return undefined
  return ipv6ToBytes(address)
}

function ipv4Parts(ip: string): number[] {
  return ip.split('.').map((part) => Number(part))
}

function ipv6ToBytes(ip: string): Buffer {
  let text = ip
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    // An embedded IPv4 address fills the last 32 bits (RFC 4291 §2.2, form 3).
    tail = ipv4Parts(text.slice(lastColon + 1))
    text = `${text.slice(0, lastColon + 1)}0:0`
  }

  const [head = '', rest] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':')
  const zeros = new Array<string>(8 - headGroups.length - restGroups.length).fill('0')
  const groups = rest === undefined ? headGroups : [...headGroups, ...zeros, ...restGroups]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2))
  if (tail.length === 4) Buffer.from(tail).copy(bytes, 12)
  return bytes
}

/** Checks whether two IP addresses are the same, treating `::ffff:a.b.c.d` as `a.b.c.d`. */
export function sameIp(a: string, b: string): boolean {
  const left = ipToBytes(a)
  const right = ipToBytes(b)
  return left !== undefined && right !== undefined && left.equals(right)
}

/**
 * Formats an IP address the way inet_ntop does: dotted quad for IPv4, and for IPv6 lower-case
 * hex with the longest run of two or more zero groups compressed to `::` (RFC 5952 §4), and
 * IPv4-mapped addresses as `::ffff:a.b.c.d` (RFC 5952 §5).
 */
export function formatIp(ip: string): string {
  const address = normalizeHost(ip)
  if (isIP(address) === 4) return address
  const bytes = ipToBytes(address)
  return bytes === undefined ? address : formatIpv6Bytes(bytes)
}

/** Formats 16 address bytes as compressed IPv6 text. */
export function formatIpv6Bytes(bytes: Buffer): string {
  if (isIpv4Mapped(bytes)) return `::ffff:${[...bytes.subarray(12)].join('.')}`
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i))

  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; i++) {
    let length = 0
    while (i + length < 8 && groups[i + length] === 0) length++
    if (length > bestLength) {
      bestStart = i
      bestLength = length
    }
  }

  const hex = groups.map((group) => group.toString(16))
  if (bestStart < 0) return hex.join(':')
  const head = hex.slice(0, bestStart).join(':')
  const tail = hex.slice(bestStart + bestLength).join(':')
  return `${head}::${tail}`
}

/** Checks whether 16 address bytes contain an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
export function isIpv4Mapped(bytes: Buffer): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false
  return bytes.subarray(0, 10).every((byte) => byte === 0)
}
