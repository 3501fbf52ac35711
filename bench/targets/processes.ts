/** Child process helpers for the harness: pinned spawn, stop by PID, free ports, readiness. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { request } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createConnection, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Starts `command` behind an optional `taskset` prefix; taskset execs, so the PID is the command's. */
export function spawnPinned(prefix: readonly string[], command: string, args: readonly string[], stdio: StdioOptions = 'ignore'): ChildProcess {
  const [head, ...rest] = prefix.length > 0 ? [...prefix, command, ...args] : [command, ...args]
  const child = spawn(head!, rest, { stdio })
  child.on('error', () => undefined)
  started.add(child)
  child.once('exit', () => started.delete(child))
  return child
}

const started = new Set<ChildProcess>()

/** Kills, by PID, every child this process started that is still running; for exit paths. */
export function killStartedProcesses(): void {
  for (const child of started) child.kill('SIGKILL')
  started.clear()
}

/** Sends SIGTERM to the child and waits for it to exit; sends SIGKILL after `timeoutMs`. */
export async function stopProcess(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await exited
  clearTimeout(timer)
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Polls until something accepts connections on the port; throws after `timeoutMs`. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before listening on ${port}`)
    if (await canConnect(port)) return
    await sleep(20)
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

export interface ProbeReply {
  status: number
  body: string
}

/**
 * Sends one request to 127.0.0.1:port and returns the status and body. With `tls` it sends
 * HTTPS with that SNI name and does not verify the certificate.
 */
export function probe(port: number, host: string, path: string, method = 'GET', body?: Buffer, tls?: { serverName: string }): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host }
    if (body !== undefined) headers['content-length'] = body.length
    const options = { host: '127.0.0.1', port, path, method, headers, agent: false }
    const send = tls === undefined ? request : httpsRequest
    const tlsOptions = tls === undefined ? {} : { servername: tls.serverName, rejectUnauthorized: false }
    const req = send({ ...options, ...tlsOptions }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`no reply from 127.0.0.1:${port} within 10 s`)))
    req.on('error', reject)
    req.end(body)
  })
}
