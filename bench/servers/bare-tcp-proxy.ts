/**
 * Minimal TCP proxy: each connection is piped to one upstream and back, with half-close passed
 * through; nothing else (no access log, no retries, no connect timeout).
 * Usage: node dist/bench/servers/bare-tcp-proxy.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import type { BareProxySpec } from './route-lookup.js'

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxySpec
if (spec.tcpUpstream === undefined) throw new Error(`spec ${process.argv[2]} has no tcpUpstream; the TCP proxy needs host:port`)
const [host, port] = spec.tcpUpstream.split(':') as [string, string]

const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const upstream = connect({ host, port: Number(port), allowHalfOpen: true, noDelay: true })
  client.pipe(upstream)
  upstream.pipe(client)
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
  client.on('close', () => upstream.destroy())
  upstream.on('close', () => client.destroy())
})
server.listen(spec.port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
