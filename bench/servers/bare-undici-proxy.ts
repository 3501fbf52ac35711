/**
 * Minimal reverse proxy on undici pools (see undici-handler.ts).
 * Usage: node dist/bench/servers/bare-undici-proxy.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { BareProxySpec } from './route-lookup.js'
import { createUndiciHandler } from './undici-handler.js'

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxySpec
const server = createServer(createUndiciHandler(spec.routes))
server.keepAliveTimeout = 65_000
server.listen(spec.port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
