import type { IncomingMessage } from 'node:http'

/** Error a route handler throws to answer with a plain-text body, as Consul does. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** Time source of the double. TTL checks, sessions, lock-delay and the reaper read it. */
export interface Clock {
  now(): number
}

/** A clock that moves only when a test calls `advance`, then runs the double's timers. */
export class ManualClock implements Clock {
  #nowMs: number
  readonly #listeners = new Set<() => void>()

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs
  }

  now(): number {
    return this.#nowMs
  }

  /** Moves time forward by `ms` and runs every expiry that is now due. */
  advance(ms: number): void {
    this.#nowMs += ms
    for (const listener of this.#listeners) listener()
  }

  onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** Parses a boolean the way Go's strconv.ParseBool does; returns undefined when invalid. */
export function parseGoBool(value: string): boolean | undefined {
  if (GO_TRUE.has(value)) return true
  if (GO_FALSE.has(value)) return false
  return undefined
}

/**
 * Reads a boolean query flag the way Consul does: absent is false, a bare `?flag` is true,
 * otherwise Go's ParseBool decides and an invalid value is a 400.
 */
export function readQueryBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)
  if (value === null) return false
  if (value === '') return true
  const parsed = parseGoBool(value)
  if (parsed === undefined) throw new HttpError(400, `Invalid value for ?${name}`)
  return parsed
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** Parses a Go duration string ("1h2m3.5s", "300ms", "0") into milliseconds. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/.exec(text)
  if (!match) return undefined
  const sign = match[1] === '-' ? -1 : 1
  let rest = match[2] ?? ''
  if (rest === '0') return 0
  if (rest === '') return undefined

  let totalMs = 0
  while (rest.length > 0) {
    const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest)
    if (!part) return undefined
    totalMs += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? Number.NaN)
    rest = rest.slice(part[0].length)
  }
  return Number.isFinite(totalMs) ? sign * totalMs : undefined
}

/** Normalises a JSON key the way Consul's decoder matches it: case and underscores ignored. */
function normaliseKey(key: string): string {
  return key.replace(/_/g, '').toLowerCase()
}

/** Reads `name` from a decoded JSON object, matching keys case-insensitively. */
export function field(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined
  const wanted = normaliseKey(name)
  for (const [key, value] of Object.entries(obj)) {
    if (normaliseKey(key) === wanted) return value
  }
  return undefined
}

export function stringField(obj: unknown, name: string, fallback = ''): string {
  const value = field(obj, name)
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'string') throw new HttpError(400, `Request decode failed: ${name} must be a string`)
  return value
}

export function numberField(obj: unknown, name: string, fallback: number): number {
  const value = field(obj, name)
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HttpError(400, `Request decode failed: ${name} must be a number`)
  }
  return value
}

export function stringListField(obj: unknown, name: string): string[] {
  const value = field(obj, name)
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new HttpError(400, `Request decode failed: ${name} must be a list of strings`)
  }
  return [...(value as string[])]
}

export function stringMapField(obj: unknown, name: string): Record<string, string> | null {
  const value = field(obj, name)
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, `Request decode failed: ${name} must be an object`)
  }
  const out: Record<string, string> = {}
  for (const [key, item] of Object.entries(value)) out[key] = String(item)
  return out
}

/** Reads a duration given as a Go duration string or as nanoseconds. */
export function durationField(obj: unknown, name: string): number | undefined {
  const value = field(obj, name)
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'number') return value / 1e6
  if (typeof value !== 'string') throw new HttpError(400, `Request decode failed: ${name}`)
  const ms = parseGoDuration(value)
  if (ms === undefined) throw new HttpError(400, `Request decode failed: invalid duration "${value}"`)
  return ms
}

/** Reads the request body, rejecting bodies above `maxBytes` with Consul's 413. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > maxBytes) {
      throw new HttpError(413, `Request body too large, max size: ${maxBytes} bytes`)
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, 4 * 1024 * 1024)
  if (body.length === 0) return {}
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'Request decode failed: body is not valid JSON')
  }
}

/** Parses an unsigned 64-bit decimal query value; returns undefined when absent. */
export function readQueryUint(query: URLSearchParams, name: string, label: string): bigint | undefined {
  const value = query.get(name)
  if (value === null || value === '') return undefined
  if (!/^\d+$/.test(value) || BigInt(value) > 0xffff_ffff_ffff_ffffn) {
    throw new HttpError(400, `Invalid ${label}`)
  }
  return BigInt(value)
}
