/**
 * Benchmark upstream: answers every request with the same 100-byte body after reading the
 * request body. `GET /__stats` returns connection and request counters as JSON. With a
 * certificate and key it serves HTTPS, as the direct baseline of the HTTPS scenarios.
 * Usage: node dist/bench/servers/upstream.js PORT [CERT_FILE KEY_FILE]
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'

const BODY = Buffer.alloc(100, 'a')
const HEADERS = ['content-type', 'text/plain', 'content-length', String(BODY.length)]

const port = Number(process.argv[2] ?? '0')
const certFile = process.argv[3]
const keyFile = process.argv[4]
const counters = { connections: 0, requests: 0, bodyBytes: 0 }

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/__stats') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(counters))
    return
  }
  counters.requests++
  req.on('data', (chunk: Buffer) => {
    counters.bodyBytes += chunk.length
  })
  req.on('end', () => {
    res.writeHead(200, HEADERS)
    res.end(BODY)
  })
}

const server =
  certFile === undefined || keyFile === undefined
    ? createServer(handle)
    : createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle)
// Longer than any run, so idle pooled connections from the proxies stay open between requests.
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.on(certFile === undefined ? 'connection' : 'secureConnection', () => {
  counters.connections++
})
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  process.stdout.write(`${JSON.stringify({ port: bound })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
