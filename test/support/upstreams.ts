import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  bodyBytes: number
}

export interface TestUpstream {
  name: string
  port: number
  address: string
  server: Server
  requests: RecordedRequest[]
  close(): Promise<void>
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, name: string) => void

/** Default handler: reads the body, then answers with JSON naming the upstream. */
export const echoHandler: UpstreamHandler = (req, res, name) => {
  let bytes = 0
  req.on('data', (c: Buffer) => {
    bytes += c.length
  })
  req.on('end', () => {
    const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes })
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name })
    res.end(body)
  })
}

/** Starts a real HTTP server on 127.0.0.1 with an ephemeral port. */
export async function startUpstream(name: string, handler: UpstreamHandler = echoHandler): Promise<TestUpstream> {
  const requests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0 }
    requests.push(record)
    req.on('data', (c: Buffer) => {
      record.bodyBytes += c.length
    })
    handler(req, res, name)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Returns a port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
