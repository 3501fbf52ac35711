/**
 * Request handler of the bare undici proxies (HTTP and HTTPS): route lookup, hop-by-hop header
 * removal and body streaming in both directions, nothing else (no access log, no retries, no
 * X-Forwarded-*).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Pool, type Dispatcher } from 'undici'
import { compileBareRoutes, type BareRoute } from './route-lookup.js'

const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
])

function stripHopByHop(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

/** Creates a handler that forwards each request through an undici Pool (256 connections) per upstream. */
export function createUndiciHandler(routes: readonly BareRoute[]): (req: IncomingMessage, res: ServerResponse) => void {
  const lookup = compileBareRoutes(routes)
  const pools = new Map<string, Pool>()
  const poolFor = (address: string): Pool => {
    let pool = pools.get(address)
    if (pool === undefined) {
      pool = new Pool(`http://${address}`, { connections: 256, pipelining: 1 })
      pools.set(address, pool)
    }
    return pool
  }
  return (req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const upstream = lookup(req.headers.host ?? '', q === -1 ? url : url.slice(0, q))
    if (upstream === undefined) {
      res.writeHead(404).end()
      return
    }
    const length = req.headers['content-length']
    const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
    const options = {
      path: url,
      method: req.method as Dispatcher.HttpMethod,
      headers: stripHopByHop(req.headers) as Record<string, string>,
      body: hasBody ? req : null,
    }
    poolFor(upstream)
      .stream(options, ({ statusCode, headers }) => {
        res.writeHead(statusCode, stripHopByHop(headers))
        return res
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end()
        else res.destroy()
      })
  }
}
