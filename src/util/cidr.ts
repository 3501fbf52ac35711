import { isIP } from 'node:net'

/** A parsed CIDR block; IPv4-mapped IPv6 client addresses match IPv4 blocks. */
export interface CidrBlock {
  readonly text: string
  readonly family: 4 | 6
  readonly base: bigint
  readonly prefix: number
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address; returns undefined when invalid. */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/')
  const ip = slash === -1 ? text : text.slice(0, slash)
  const family = isIP(ip)
  if (family === 0) return undefined
  const bits = family === 4 ? 32 : 128
  let prefix = bits
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(prefixText)) return undefined
    prefix = Number(prefixText)
    if (prefix > bits) return undefined
  }
  const value = family === 4 ? ipv4ToBigInt(ip) : ipv6ToBigInt(ip)
  if (value === undefined) return undefined
  return { text, family: family as 4 | 6, base: value & mask(bits, prefix), prefix }
}

/** A list of CIDR blocks with a membership test. */
export class CidrSet {
  readonly blocks: readonly CidrBlock[]

  constructor(blocks: readonly CidrBlock[]) {
    this.blocks = blocks
  }

  get size(): number {
    return this.blocks.length
  }

  has(address: string): boolean {
    if (this.blocks.length === 0) return false
    let ip = address
    if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7)
    const family = isIP(ip)
    if (family === 0) return false
    const value = family === 4 ? ipv4ToBigInt(ip) : ipv6ToBigInt(ip)
    if (value === undefined) return false
    const bits = family === 4 ? 32 : 128
    for (const block of this.blocks) {
      if (block.family !== family) continue
      if ((value & mask(bits, block.prefix)) === block.base) return true
    }
    return false
  }
}

function mask(bits: number, prefix: number): bigint {
  if (prefix === 0) return 0n
  const all = (1n << BigInt(bits)) - 1n
  return all ^ ((1n << BigInt(bits - prefix)) - 1n)
}

function ipv4ToBigInt(ip: string): bigint | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  let value = 0n
  for (const part of parts) value = (value << 8n) | BigInt(Number(part))
  return value
}

function ipv6ToBigInt(ip: string): bigint | undefined {
  let text = ip
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  let tail: bigint[] = []
  const lastColon = text.lastIndexOf(':')
  const lastPart = text.slice(lastColon + 1)
  if (lastPart.includes('.')) {
    const v4 = ipv4ToBigInt(lastPart)
    if (v4 === undefined) return undefined
    tail = [v4 >> 16n, v4 & 0xffffn]
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : halves[0]!.split(':')
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : []
  const missing = 8 - head.length - rest.length
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  let value = 0n
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16))
  if (tail.length === 2) value = (value >> 32n << 32n) | (tail[0]! << 16n) | tail[1]!
  return value
}
