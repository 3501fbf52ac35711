import { createHash } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startGateway, type RunningGateway } from '../support/gateway-harness.js'
import { closedPort } from '../support/upstreams.js'

interface TcpUpstream {
  server: Server
  port: number
  sockets: Socket[]
  close(): Promise<void>
}

async function startTcpUpstream(onConnection: (socket: Socket) => void): Promise<TcpUpstream> {
  const sockets: Socket[] = []
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket)
    socket.on('error', () => undefined)
    onConnection(socket)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    server,
    port: (server.address() as { port: number }).port,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

async function tcpGateway(endpoints: string[], extra = ''): Promise<RunningGateway> {
  return startGateway({
    config: [
      'listeners:',
      `  - { name: tcp, address: 127.0.0.1, port: 0, protocol: tcp, service: db${extra} }`,
      'timeouts: { connectMs: 1000, idleMs: 5000, shutdownMs: 500 }',
      'services:',
      `  db: { endpoints: [${endpoints.map((e) => `"${e}"`).join(', ')}] }`,
    ].join('\n'),
  })
}

describe('TCP listener', () => {
  let gw: RunningGateway | undefined
  let upstream: TcpUpstream | undefined

  afterEach(async () => {
    await gw?.stop()
    await upstream?.close()
    gw = undefined
    upstream = undefined
  })

  it('echoes 100 MB byte for byte', async () => {
    upstream = await startTcpUpstream((socket) => socket.pipe(socket))
    gw = await tcpGateway([`127.0.0.1:${upstream.port}`])
    const total = 100 * 1024 * 1024
    const chunk = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff
    const sent = createHash('sha256')
    const received = createHash('sha256')
    let receivedBytes = 0
    await new Promise<void>((resolve, reject) => {
      const socket = connect(gw!.port, '127.0.0.1', () => {
        let written = 0
        const pump = (): void => {
          while (written < total) {
            sent.update(chunk)
            written += chunk.length
            if (!socket.write(chunk)) {
              socket.once('drain', pump)
              return
            }
          }
          socket.end()
        }
        pump()
      })
      socket.on('data', (d: Buffer) => {
        received.update(d)
        receivedBytes += d.length
      })
      socket.on('end', () => resolve())
      socket.on('error', reject)
    })
    expect(receivedBytes).toBe(total)
    expect(received.digest('hex')).toBe(sent.digest('hex'))
  })

  it('passes a half-close through', async () => {
    upstream = await startTcpUpstream((socket) => {
      let got = ''
      socket.on('data', (d) => (got += String(d)))
      socket.on('end', () => socket.end(`got ${got.length} bytes after your FIN`))
    })
    gw = await tcpGateway([`127.0.0.1:${upstream.port}`])
    const reply = await new Promise<string>((resolve, reject) => {
      let text = ''
      const socket = connect({ port: gw!.port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.end('12345'))
      socket.on('data', (d) => (text += String(d)))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(reply).toBe('got 5 bytes after your FIN')
  })

  it('stops reading a client whose upstream stops reading', async () => {
    upstream = await startTcpUpstream((socket) => socket.pause())
    gw = await tcpGateway([`127.0.0.1:${upstream.port}`])
    const accepted = await new Promise<number>((resolve) => {
      const socket = connect(gw!.port, '127.0.0.1')
      const chunk = Buffer.alloc(64 * 1024)
      let written = 0
      const pump = (): void => {
        // Bounded: stop after 256 MB even if backpressure never comes.
        while (written < 256 * 1024 * 1024 && socket.write(chunk)) written += chunk.length
      }
      socket.on('connect', pump)
      socket.on('drain', pump)
      socket.on('error', () => undefined)
      setTimeout(() => {
        resolve(socket.bytesWritten)
        socket.destroy()
      }, 1_500)
    })
    // Kernel socket buffers on both hops plus the gateway's stream buffers; far below 256 MB.
    expect(accepted).toBeLessThan(64 * 1024 * 1024)
  })

  it('closes connections over the service limit', async () => {
    upstream = await startTcpUpstream(() => undefined)
    gw = await startGateway({
      config: [
        'listeners: [{ name: tcp, address: 127.0.0.1, port: 0, protocol: tcp, service: db }]',
        'timeouts: { shutdownMs: 300 }',
        'services:',
        `  db: { endpoints: ["127.0.0.1:${upstream.port}"], maxConnections: 2 }`,
      ].join('\n'),
    })
    const open = [connect(gw.port, '127.0.0.1'), connect(gw.port, '127.0.0.1')]
    for (const s of open) s.on('error', () => undefined)
    const { waitFor } = await import('../support/gateway-harness.js')
    await waitFor(() => upstream!.sockets.length === 2, 2_000, 'two upstream connections')
    const third = await new Promise<string>((resolve) => {
      const socket = connect(gw!.port, '127.0.0.1')
      socket.on('close', () => resolve('closed'))
      socket.on('error', () => undefined)
    })
    expect(third).toBe('closed')
    expect(upstream.sockets).toHaveLength(2)
    for (const s of open) s.destroy()
  })

  it('retries a failed connect on the next endpoint', async () => {
    upstream = await startTcpUpstream((socket) => socket.end('hello from live'))
    const dead = await closedPort()
    gw = await tcpGateway([`127.0.0.1:${dead}`, `127.0.0.1:${upstream.port}`])
    for (let i = 0; i < 4; i++) {
      const text = await new Promise<string>((resolve, reject) => {
        let out = ''
        const socket = connect(gw!.port, '127.0.0.1')
        socket.on('data', (d) => (out += String(d)))
        socket.on('end', () => resolve(out))
        socket.on('error', reject)
      })
      expect(text).toBe('hello from live')
    }
  })

  it.each([
    ['v1', (bytes: Buffer, port: number) => expect(bytes.toString('latin1')).toMatch(new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${port}\\r\\nping$`))],
    ['v2', (bytes: Buffer, port: number) => {
      expect(bytes.subarray(0, 12).equals(Buffer.from('0d0a0d0a000d0a515549540a', 'hex'))).toBe(true)
      expect(bytes[12]).toBe(0x21)
      expect(bytes[13]).toBe(0x11)
      expect(bytes.readUInt16BE(14)).toBe(12)
      expect([...bytes.subarray(16, 20)]).toEqual([127, 0, 0, 1])
      expect([...bytes.subarray(20, 24)]).toEqual([127, 0, 0, 1])
      expect(bytes.readUInt16BE(26)).toBe(port)
      expect(bytes.subarray(28).toString()).toBe('ping')
    }],
  ])('sends a PROXY protocol %s header', async (version, check) => {
    let resolveBytes: (b: Buffer) => void = () => undefined
    const received = new Promise<Buffer>((r) => (resolveBytes = r))
    upstream = await startTcpUpstream((socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (d: Buffer) => chunks.push(d))
      socket.on('end', () => {
        resolveBytes(Buffer.concat(chunks))
        socket.end()
      })
    })
    gw = await tcpGateway([`127.0.0.1:${upstream.port}`], `, proxyProtocol: ${version}`)
    await new Promise<void>((resolve) => {
      const socket = connect(gw!.port, '127.0.0.1', () => socket.end('ping'))
      socket.on('close', () => resolve())
      socket.on('error', () => undefined)
    })
    check(await received, gw.port)
  })
})
