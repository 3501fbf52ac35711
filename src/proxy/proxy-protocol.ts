/**
 * PROXY protocol headers that tell an upstream the downstream client's address. The format
 * follows HAProxy's proxy-protocol.txt (version 1 text, version 2 binary).
 */
import { isIP } from 'node:net'
import { formatIpv6Bytes, ipToBytes, isIpv4Mapped } from '../tls/host-match.js'

/** Addresses of the downstream connection, as Node's socket reports them. */
export interface ProxyConnectionInfo {
  /**
   * `IPv4` or `IPv6` as in socket.remoteFamily, or `unknown` to send no addresses. Only
   * `unknown` changes the output, because the family is derived from the addresses.
   */
  family?: string
  srcIp?: string
  srcPort?: number
  dstIp?: string
  dstPort?: number
}

/** Optional version 2 TLVs. */
export interface ProxyV2Extensions {
  /** Negotiated ALPN protocol, sent as PP2_TYPE_ALPN. */
  alpn?: string
  /** TLS server name or Host, sent as PP2_TYPE_AUTHORITY. */
  authority?: string
}

/** The 12-byte signature that starts every version 2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
])

export const PP2_TYPE_ALPN = 0x01
export const PP2_TYPE_AUTHORITY = 0x02

const V2_VERSION = 0x20
const V2_COMMAND_LOCAL = 0x00
const V2_COMMAND_PROXY = 0x01
const V2_FAMILY_INET_STREAM = 0x11
const V2_FAMILY_INET6_STREAM = 0x21
const V2_FAMILY_UNSPEC = 0x00
const V2_HEADER_BYTES = 16
const MAX_U16 = 0xffff

type ResolvedFamily =
  | { kind: 'tcp4'; src: Buffer; dst: Buffer; srcPort: number; dstPort: number }
  | { kind: 'tcp6'; src: Buffer; dst: Buffer; srcPort: number; dstPort: number }

/**
 * Encodes a version 1 header such as `PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n`.
 * IPv4-mapped IPv6 addresses are sent as TCP4. A mix of IPv4 and IPv6 is sent as TCP6 with
 * the IPv4 address mapped, because both addresses must share one family. Missing or invalid
 * addresses give `PROXY UNKNOWN\r\n`.
 */
export function encodeProxyV1(info: ProxyConnectionInfo): string {
  const resolved = resolveAddresses(info)
  if (resolved === undefined) return 'PROXY UNKNOWN\r\n'

  const format = resolved.kind === 'tcp4' ? formatIpv4Bytes : formatIpv6Bytes
  const fields = [
    resolved.kind === 'tcp4' ? 'TCP4' : 'TCP6',
    format(resolved.src),
    format(resolved.dst),
    String(resolved.srcPort),
    String(resolved.dstPort),
  ]
  return `PROXY ${fields.join(' ')}\r\n`
}

/**
 * Encodes a version 2 header: the signature, version 2 with the PROXY command, TCP over
 * IPv4 (0x11) or IPv6 (0x21), the length, the addresses and ports in network byte order,
 * then any TLVs. Missing or invalid addresses give a LOCAL header with no address block.
 */
export function encodeProxyV2(
  info: ProxyConnectionInfo,
  extensions: ProxyV2Extensions = {},
): Buffer {
  const resolved = resolveAddresses(info)
  if (resolved === undefined) return v2Header(V2_COMMAND_LOCAL, V2_FAMILY_UNSPEC, Buffer.alloc(0))

  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(resolved.srcPort, 0)
  ports.writeUInt16BE(resolved.dstPort, 2)
  const addressBlock = Buffer.concat([resolved.src, resolved.dst, ports])
  const payload = Buffer.concat([addressBlock, encodeTlvs(extensions)])
  const family = resolved.kind === 'tcp4' ? V2_FAMILY_INET_STREAM : V2_FAMILY_INET6_STREAM
  return v2Header(V2_COMMAND_PROXY, family, payload)
}

function v2Header(command: number, family: number, payload: Buffer): Buffer {
  if (payload.length > MAX_U16) {
    throw new RangeError(`PROXY v2 payload of ${payload.length} bytes exceeds 65535`)
  }
  const header = Buffer.alloc(V2_HEADER_BYTES)
  PROXY_V2_SIGNATURE.copy(header, 0)
  header[12] = V2_VERSION | command
  header[13] = family
  header.writeUInt16BE(payload.length, 14)
  return Buffer.concat([header, payload])
}

function encodeTlvs(extensions: ProxyV2Extensions): Buffer {
  const tlvs: Buffer[] = []
  if (extensions.alpn !== undefined) {
    tlvs.push(encodeTlv(PP2_TYPE_ALPN, Buffer.from(extensions.alpn, 'latin1')))
  }
  if (extensions.authority !== undefined) {
    tlvs.push(encodeTlv(PP2_TYPE_AUTHORITY, Buffer.from(extensions.authority, 'utf8')))
  }
  return Buffer.concat(tlvs)
}

function encodeTlv(type: number, value: Buffer): Buffer {
  if (value.length > MAX_U16) {
    throw new RangeError(`PROXY v2 TLV 0x${type.toString(16)} exceeds 65535 bytes`)
  }
  const header = Buffer.from([type, 0, 0])
  header.writeUInt16BE(value.length, 1)
  return Buffer.concat([header, value])
}

function resolveAddresses(info: ProxyConnectionInfo): ResolvedFamily | undefined {
  if (info.family?.toLowerCase() === 'unknown') return undefined
  const { srcIp, dstIp, srcPort, dstPort } = info
  if (srcIp === undefined || dstIp === undefined || !isPort(srcPort) || !isPort(dstPort)) {
    return undefined
  }
  const src = addressBytes(srcIp)
  const dst = addressBytes(dstIp)
  if (src === undefined || dst === undefined) return undefined

  if (isIpv4Mapped(src) && isIpv4Mapped(dst)) {
    return { kind: 'tcp4', src: src.subarray(12), dst: dst.subarray(12), srcPort, dstPort }
  }
  return { kind: 'tcp6', src, dst, srcPort, dstPort }
}

// Returns the 16-byte IPv6 form, with IPv4 addresses mapped into ::ffff:0:0/96.
function addressBytes(ip: string): Buffer | undefined {
  const zoneless = ip.split('%')[0] ?? ''
  return isIP(zoneless) === 0 ? undefined : ipToBytes(zoneless)
}

function isPort(port: number | undefined): port is number {
  return port !== undefined && Number.isInteger(port) && port >= 0 && port <= MAX_U16
}

function formatIpv4Bytes(bytes: Buffer): string {
  return [...bytes].join('.')
}
