/**
 * Hashes a string (from `start`) to an unsigned 32-bit integer: FNV-1a over UTF-16 code units,
 * then the MurmurHash3 finalizer so that similar keys land far apart. Allocates nothing.
 */
export function hashString(value: string, start = 0): number {
  let hash = 0x811c9dc5
  for (let i = start; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return mix32(hash)
}

/** Scrambles a 32-bit integer with the MurmurHash3 finalizer; returns an unsigned result. */
export function mix32(value: number): number {
  let hash = value
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

/**
 * Hashes a client address so that an IPv4-mapped IPv6 form (`::ffff:192.0.2.1`) and the plain
 * IPv4 form hash alike, because a dual-stack listener reports the former.
 */
export function hashClientIp(ip: string): number {
  const isMapped = ip.length > 7 && ip.startsWith('::ffff:') && ip.includes('.', 7)
  return hashString(ip, isMapped ? 7 : 0)
}
