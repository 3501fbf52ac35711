import { createHash, createHmac } from 'node:crypto'
import type { Endpoint } from './types.js'

export interface StickySessionsOptions {
  /**
   * Key for an HMAC over endpoint ids. Without it the cookie carries a plain SHA-256 prefix,
   * which hides the address but lets anyone who can guess an id confirm the guess.
   */
  secret?: string
  /** Keep pinned sessions on a drained (weight 0) endpoint so they can finish. Default true. */
  keepDrained?: boolean
}

/**
 * Cookie-based session persistence. The cookie value is an opaque key derived from the
 * endpoint id. `find()` returns the pinned endpoint while it can take the request. Undefined
 * means fail-over: the caller picks with the balancer and sets a new cookie for that pick.
 */
export class StickySessions {
  #byKey = new Map<string, Endpoint>()
  #keyById = new Map<string, string>()
  readonly #secret: string | undefined
  readonly #keepDrained: boolean

  constructor(options: StickySessionsOptions = {}) {
    this.#secret = options.secret
    this.#keepDrained = options.keepDrained ?? true
  }

  /** Replaces the endpoint list. Pass every endpoint, available or not: `find()` checks that. */
  update(endpoints: readonly Endpoint[]): void {
    const byKey = new Map<string, Endpoint>()
    const keyById = new Map<string, string>()
    for (const endpoint of endpoints) {
      const key = this.#keyById.get(endpoint.id) ?? endpointCookieKey(endpoint.id, this.#secret)
      byKey.set(key, endpoint)
      keyById.set(endpoint.id, key)
    }
    this.#byKey = byKey
    this.#keyById = keyById
  }

  /**
   * Returns the endpoint the cookie value pins, or undefined when the value is missing or
   * unknown, or the endpoint is out of rotation, drained (unless kept) or excluded.
   */
  find(cookieValue: string | undefined, exclude?: ReadonlySet<Endpoint>): Endpoint | undefined {
    if (cookieValue === undefined || cookieValue === '') return undefined
    const endpoint = this.#byKey.get(cookieValue)
    if (endpoint === undefined || !endpoint.available) return undefined
    if (!this.#keepDrained && !(endpoint.weight > 0)) return undefined
    if (exclude !== undefined && exclude.has(endpoint)) return undefined
    return endpoint
  }

  /** Returns the cookie value that pins `endpoint`. */
  keyOf(endpoint: Endpoint): string {
    return this.#keyById.get(endpoint.id) ?? endpointCookieKey(endpoint.id, this.#secret)
  }
}

/** Derives a 16-character base64url key (96 bits) from an endpoint id, keyed by `secret` if set. */
export function endpointCookieKey(endpointId: string, secret?: string): string {
  const digest = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
  return digest.update(endpointId).digest('base64url').slice(0, 16)
}

export interface SetCookieOptions {
  /** Lifetime in seconds; omit for a session cookie. */
  maxAgeSeconds?: number
  /** Default `/`. */
  path?: string
  domain?: string
  /** Adds `Secure`; set it on HTTPS listeners. */
  secure?: boolean
}

// RFC 6265 §4.1.1: cookie-name is an RFC 2616 token, cookie-value is cookie-octets.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/

/**
 * Builds a `Set-Cookie` header value with `HttpOnly` and `SameSite=Lax`. Throws a TypeError
 * when the name, value, path or domain contains characters RFC 6265 does not allow there.
 */
export function buildSetCookie(
  name: string,
  value: string,
  options: SetCookieOptions = {},
): string {
  const path = options.path ?? '/'
  if (!TOKEN.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`)
  if (!COOKIE_OCTETS.test(value)) {
    throw new TypeError(`invalid cookie value ${JSON.stringify(value)}`)
  }
  if (!ATTRIBUTE_VALUE.test(path)) {
    throw new TypeError(`invalid cookie path ${JSON.stringify(path)}`)
  }

  let header = `${name}=${value}`
  if (options.maxAgeSeconds !== undefined) {
    if (!Number.isInteger(options.maxAgeSeconds)) {
      throw new TypeError(`invalid cookie max-age ${options.maxAgeSeconds}: expected whole seconds`)
    }
    header += `; Max-Age=${options.maxAgeSeconds}`
  }
  if (options.domain !== undefined) {
    if (!TOKEN.test(options.domain)) {
      throw new TypeError(`invalid cookie domain ${JSON.stringify(options.domain)}`)
    }
    header += `; Domain=${options.domain}`
  }
  header += `; Path=${path}; HttpOnly; SameSite=Lax`
  if (options.secure === true) header += '; Secure'
  return header
}

/**
 * Returns the value of cookie `name` from a `Cookie` header, without its surrounding double
 * quotes, or undefined. Scans in place and allocates only the returned value. HTTP/2 may split
 * cookies over several fields (RFC 9113 §8.2.3), so join them with "; " before calling.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const length = header.length
  let position = 0

  while (position < length) {
    while (position < length && isCookieSeparator(header.charCodeAt(position))) position++
    const semicolon = header.indexOf(';', position)
    const pairEnd = semicolon === -1 ? length : semicolon
    if (header.startsWith(name, position)) {
      const equals = skipSpaces(header, position + name.length, pairEnd)
      if (equals < pairEnd && header.charCodeAt(equals) === 0x3d) {
        return unquote(header.slice(equals + 1, pairEnd).trim())
      }
    }
    position = pairEnd + 1
  }
  return undefined
}

function isCookieSeparator(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x3b
}

function skipSpaces(text: string, from: number, end: number): number {
  let position = from
  while (position < end) {
    const code = text.charCodeAt(position)
    if (code !== 0x20 && code !== 0x09) break
    position++
  }
  return position
}

function unquote(value: string): string {
  const isQuoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"')
  return isQuoted ? value.slice(1, -1) : value
}
