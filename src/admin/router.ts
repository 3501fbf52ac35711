import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../log.js'
import { AdminError } from './admin-http.js'

/** The request context a route handler receives. */
export interface AdminRequest {
  req: IncomingMessage
  res: ServerResponse
  /** Decoded values of the `:name` segments of the route pattern. */
  params: Readonly<Record<string, string>>
  query: URLSearchParams
  reqId: string
  log: Logger
}

export type RouteHandler = (request: AdminRequest) => void | Promise<void>

interface RouteEntry {
  segments: readonly string[]
  handlers: Map<string, RouteHandler>
}

export type RouteLookup =
  | { handler: RouteHandler; params: Record<string, string> }
  | { allowed: readonly string[] }

/**
 * Method and path dispatch over a short list of patterns such as `/v1/clusters/:id`. A
 * segment that starts with `:` matches one non-empty path segment, percent-decoded.
 * Literal segments win over parameters at the same position.
 */
export class Router {
  readonly #routes: RouteEntry[] = []

  /** Registers `handler` for `method` on `pattern`. The GET handler also serves HEAD. */
  on(method: string, pattern: string, handler: RouteHandler): this {
    const segments = splitPath(pattern)
    let entry = this.#routes.find((r) => r.segments.join('/') === segments.join('/'))
    if (entry === undefined) {
      entry = { segments, handlers: new Map() }
      this.#routes.push(entry)
      // Literal segments sort before parameters, so `/v1/routes/explain` beats `/v1/routes/:id`.
      this.#routes.sort(compareSpecificity)
    }
    entry.handlers.set(method.toUpperCase(), handler)
    return this
  }

  /**
   * Finds the handler for a request. Returns the allowed methods when the path exists but the
   * method does not, and undefined when no pattern matches the path.
   */
  lookup(method: string, pathname: string): RouteLookup | undefined {
    const parts = splitPath(pathname)
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts)
      if (params === undefined) continue

      let handler = route.handlers.get(method)
      if (handler === undefined && method === 'HEAD') handler = route.handlers.get('GET')
      if (handler !== undefined) return { handler, params }
      const allowed = [...route.handlers.keys()]
      if (allowed.includes('GET')) allowed.push('HEAD')
      return { allowed: allowed.sort() }
    }
    return undefined
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '')
}

function matchSegments(
  pattern: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!
    const actual = parts[i]!
    if (expected.startsWith(':')) {
      params[expected.slice(1)] = decodeSegment(actual)
    } else if (expected !== actual) {
      return undefined
    }
  }
  return params
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    const message = `path segment ${JSON.stringify(segment)} is not valid percent-encoding`
    throw new AdminError('GW_ADMIN_NOT_FOUND', message)
  }
}

function compareSpecificity(a: RouteEntry, b: RouteEntry): number {
  const length = Math.min(a.segments.length, b.segments.length)
  for (let i = 0; i < length; i++) {
    const aParam = a.segments[i]!.startsWith(':')
    const bParam = b.segments[i]!.startsWith(':')
    if (aParam !== bParam) return aParam ? 1 : -1
  }
  return 0
}
