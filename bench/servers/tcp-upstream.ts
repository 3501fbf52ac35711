/**
 * TCP upstream of the tcp scenarios, in one process: a sink that discards what it reads and
 * sends one byte back per SINK_ACK_BYTES received, and an echo server. Prints the two ports as
 * JSON on stdout.
 * Usage: node dist/bench/servers/tcp-upstream.js
 */
import { createServer, type Server } from 'node:net'
import { SINK_ACK_BYTES } from '../load/load-spec.js'

const ACK = Buffer.from([0x06])

const sink = createServer({ noDelay: true }, (socket) => {
  let pending = 0
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.length
    while (pending >= SINK_ACK_BYTES) {
      pending -= SINK_ACK_BYTES
      socket.write(ACK)
    }
  })
  socket.on('error', () => socket.destroy())
})

const echo = createServer({ noDelay: true }, (socket) => {
  socket.pipe(socket)
  socket.on('error', () => socket.destroy())
})

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve(typeof address === 'object' && address !== null ? address.port : 0)
    })
  })
}

const [sinkPort, echoPort] = await Promise.all([listen(sink), listen(echo)])
process.stdout.write(`${JSON.stringify({ sinkPort, echoPort })}\n`)
process.on('SIGTERM', () => process.exit(0))
