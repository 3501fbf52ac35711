import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { WebSocketServer } from 'ws'

/**
 * A small upstream for the embedded demo and for tests: answers every request with JSON that
 * names itself and echoes the method, path, headers and body size, and echoes WebSocket
 * messages. Started as a child process: `node echo-server.js NAME HOST PORT`.
 */
export function startEchoServer(name: string, host: string, port: number): Promise<{ close(): void; port: number }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
    })
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes }, null, 2) + '\n'
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name })
      res.end(body)
    })
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `${name}: ${String(data)}`, { binary: isBinary }))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      const address = server.address()
      resolve({ close: () => server.close(), port: typeof address === 'object' && address ? address.port : port })
    })
  })
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, '/'))) {
  const [name = 'echo', host = '127.0.0.1', port = '0'] = process.argv.slice(2)
  startEchoServer(name, host, Number(port)).then(
    (s) => process.send?.({ ready: true, port: s.port }),
    (err: Error) => {
      process.stderr.write(`echo server ${name} cannot listen on ${host}:${port}: ${err.message}\n`)
      process.exit(1)
    },
  )
  process.on('disconnect', () => process.exit(0))
}
