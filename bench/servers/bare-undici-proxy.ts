/**
 * Minimal reverse proxy on undici pools: route lookup, hop-by-hop header removal and body
 * streaming in both directions, nothing else (no access log, no retries, no X-Forwarded-*).
 * Usage: node dist/bench/servers/bare-undici-proxy.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { Pool, type Dispatcher } from 'undici'
import { compileBareRoutes, type BareProxySpec } from './route-lookup.js'

const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
])

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxySpec
const lookup = compileBareRoutes(spec.routes)
const pools = new Map<string, Pool>()

function poolFor(address: string): Pool {
  let pool = pools.get(address)
  if (pool === undefined) {
    pool = new Pool(`http://${address}`, { connections: 256, pipelining: 1 })
    pools.set(address, pool)
  }
  return pool
}

function stripHopByHop(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

const server = createServer((req, res) => {
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
})
server.keepAliveTimeout = 65_000
server.listen(spec.port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
