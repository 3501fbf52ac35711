/**
 * Idle connection holder for the idle-memory scenario. Reads commands from stdin, one JSON
 * object per line: `{"open": N}` opens connections until N are open, each sending one
 * keep-alive GET and reading the whole response, then leaves them idle and prints
 * `{"open": N, "closedByServer": K, "failed": F}`. It exits when stdin closes.
 * Usage: node dist/bench/load/idle-worker.js SPEC.json
 */
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'

export interface IdleSpec {
  port: number
  host: string
  path: string
}

/** Connections opened at once while a step fills up. */
const BATCH = 200
const RESPONSE_TIMEOUT_MS = 10_000

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as IdleSpec
const request = Buffer.from(`GET ${spec.path} HTTP/1.1\r\nhost: ${spec.host}\r\n\r\n`)
const sockets = new Set<Socket>()
let closedByServer = 0
let failed = 0

/** Returns true once `text` contains a complete response with a Content-Length or chunked body. */
function isComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return false
  const head = text.slice(0, end).toLowerCase()
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head)
  if (length !== null) return text.length - end - 4 >= Number(length[1])
  return text.endsWith('0\r\n\r\n')
}

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: spec.port })
    let text = ''
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (ok) sockets.add(socket)
      else {
        failed++
        socket.destroy()
      }
      resolve()
    }
    const timer = setTimeout(() => finish(false), RESPONSE_TIMEOUT_MS)
    socket.on('connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      if (done) return
      text += chunk.toString('latin1')
      if (isComplete(text)) finish(true)
    })
    socket.on('error', () => finish(false))
    socket.on('close', () => {
      if (sockets.delete(socket)) closedByServer++
      finish(false)
    })
  })
}

async function openUntil(total: number): Promise<void> {
  while (sockets.size < total) {
    const batch = Math.min(BATCH, total - sockets.size)
    const failedBefore = failed
    await Promise.all(Array.from({ length: batch }, () => openOne()))
    if (failed - failedBefore === batch) break
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const command = JSON.parse(line) as { open: number }
  void openUntil(command.open).then(() => {
    process.stdout.write(`${JSON.stringify({ open: sockets.size, closedByServer, failed })}\n`)
  })
})
lines.on('close', () => process.exit(0))
