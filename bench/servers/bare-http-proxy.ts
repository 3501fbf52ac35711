/**
 * Minimal reverse proxy on http-proxy with a keep-alive agent: route lookup and forwarding,
 * nothing else (no access log, no retries, no X-Forwarded-*).
 * Usage: node dist/bench/servers/bare-http-proxy.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { Agent, createServer } from 'node:http'
import httpProxy from 'http-proxy'
import { compileBareRoutes, type BareProxySpec } from './route-lookup.js'

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxySpec
const lookup = compileBareRoutes(spec.routes)
const agent = new Agent({ keepAlive: true, maxSockets: 256 })
const proxy = httpProxy.createProxyServer({ agent, xfwd: false })

proxy.on('error', (_err, _req, res) => {
  if (!('writeHead' in res)) {
    res.destroy()
    return
  }
  if (!res.headersSent) res.writeHead(502).end()
  else res.destroy()
})

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const upstream = lookup(req.headers.host ?? '', q === -1 ? url : url.slice(0, q))
  if (upstream === undefined) {
    res.writeHead(404).end()
    return
  }
  proxy.web(req, res, { target: `http://${upstream}` })
})
server.keepAliveTimeout = 65_000
server.listen(spec.port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
