import type { IncomingHttpHeaders } from 'node:http'

/**
 * Fields the gateway never forwards: connection-specific ones (RFC 9110 section 7.6.1),
 * `expect`, which the gateway handles itself, `http2-settings`, which belongs to one
 * connection, and the proxy credentials, which address the next proxy only (RFC 9110
 * sections 11.7.1 and 11.7.2) and would otherwise reach the upstream.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
  'proxy-authorization',
  'proxy-authenticate',
])

const FORWARDED_SET_BY_GATEWAY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])

/**
 * Lengths of every field name the rewrite looks at. A name of any other length cannot match,
 * so it is copied without lower-casing, which keeps the common case cheap.
 */
const INTERESTING_LENGTHS = new Set([...HOP_BY_HOP, ...FORWARDED_SET_BY_GATEWAY, 'host'].map((n) => n.length))

/** Returns the extra field names a Connection header lists, lower-cased; undefined when none. */
export function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value === '') return undefined
  let tokens: Set<string> | undefined
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase()
    if (token === '' || token === 'close' || token === 'keep-alive') continue
    tokens ??= new Set()
    tokens.add(token)
  }
  return tokens
}

export interface ForwardedInfo {
  clientIp: string
  /** `http` or `https`: how the request reached the gateway. */
  proto: string
}

/**
 * Builds the upstream request header list from the downstream raw headers: drops hop-by-hop
 * fields, appends the client to X-Forwarded-For and sets X-Forwarded-Proto and -Host once.
 * The Host header passes unchanged. Returns a flat `[name, value, ...]` list.
 */
export function buildUpstreamHeaders(rawHeaders: readonly string[], connection: string | undefined, info: ForwardedInfo): string[] {
  const named = connectionTokens(connection)
  const out: string[] = []
  let forwardedFor: string | undefined
  let host: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    const value = rawHeaders[i + 1]!
    if (named === undefined && !INTERESTING_LENGTHS.has(name.length)) {
      out.push(name, value)
      continue
    }
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || (named !== undefined && named.has(lower))) continue
    if (FORWARDED_SET_BY_GATEWAY.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`
      continue
    }
    if (lower === 'host') host = value
    out.push(name, value)
  }
  out.push('x-forwarded-for', forwardedFor === undefined ? info.clientIp : `${forwardedFor}, ${info.clientIp}`)
  out.push('x-forwarded-proto', info.proto)
  if (host !== undefined) out.push('x-forwarded-host', host)
  return out
}

/** Applies the same rules to a parsed header object in place, for engines that take one. */
export function rewriteUpstreamHeaders(headers: IncomingHttpHeaders, info: ForwardedInfo): void {
  const named = connectionTokens(headers.connection)
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) delete headers[name]
  }
  const prior = headers['x-forwarded-for']
  headers['x-forwarded-for'] = prior === undefined || prior === '' ? info.clientIp : `${prior}, ${info.clientIp}`
  headers['x-forwarded-proto'] = info.proto
  if (headers.host !== undefined) headers['x-forwarded-host'] = headers.host
  else delete headers['x-forwarded-host']
}

/**
 * Filters hop-by-hop fields out of an upstream response's raw header list. Values come back
 * as strings, in a flat list that `ServerResponse.writeHead` accepts.
 */
export function filterResponseHeaders(raw: ReadonlyArray<Buffer | string>): string[] {
  const out: string[] = []
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!)
    const value = latin1(raw[i + 1]!)
    if (!INTERESTING_LENGTHS.has(name.length)) {
      out.push(name, value)
      continue
    }
    const lower = name.toLowerCase()
    if (lower === 'connection') named = connectionTokens(value)
    if (HOP_BY_HOP.has(lower)) continue
    out.push(name, value)
  }
  if (named === undefined) return out
  // Rare: the Connection header named extra fields, which must go too.
  const filtered: string[] = []
  for (let i = 0; i < out.length; i += 2) {
    if (!named.has(out[i]!.toLowerCase())) filtered.push(out[i]!, out[i + 1]!)
  }
  return filtered
}

/** Header bytes are ISO-8859-1 on the wire (RFC 9110 section 5.5); latin1 also decodes fastest. */
function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1')
}

/** Removes hop-by-hop fields from a parsed response header object in place. */
export function stripResponseHeaders(headers: IncomingHttpHeaders): void {
  const named = connectionTokens(headers.connection)
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) delete headers[name]
  }
}
