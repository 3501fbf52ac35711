/**
 * Minimal TLS-terminating reverse proxy: Node's HTTPS server in front of the same undici
 * forwarding as bare-undici-proxy.ts, plain HTTP to the upstreams.
 * Usage: node dist/bench/servers/bare-https-proxy.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { BareProxySpec } from './route-lookup.js'
import { createUndiciHandler } from './undici-handler.js'

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxySpec
if (spec.tls === undefined) throw new Error(`spec ${process.argv[2]} has no tls section; the HTTPS proxy needs a certificate and key`)
const tlsOptions = { cert: readFileSync(spec.tls.certFile), key: readFileSync(spec.tls.keyFile) }
const server = createServer(tlsOptions, createUndiciHandler(spec.routes))
server.keepAliveTimeout = 65_000
server.listen(spec.port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
