/**
 * Benchmark upstream: answers every request with the same 100-byte body after reading the
 * request body. `GET /__stats` returns connection and request counters as JSON.
 * Usage: node dist/bench/servers/upstream.js PORT
 */
import { createServer } from 'node:http'

const BODY = Buffer.alloc(100, 'a')
const HEADERS = ['content-type', 'text/plain', 'content-length', String(BODY.length)]

const port = Number(process.argv[2] ?? '0')
const counters = { connections: 0, requests: 0, bodyBytes: 0 }

const server = createServer((req, res) => {
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
})
// Longer than any run, so idle pooled connections from the proxies stay open between requests.
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.on('connection', () => {
  counters.connections++
})
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  process.stdout.write(`${JSON.stringify({ port: bound })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
