/** Starts the benchmark upstreams as separate processes. */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Pinning } from './machine.js'
import type { UpstreamName } from './scenarios.js'
import { spawnPinned, stopProcess } from './targets/processes.js'

export interface Upstreams {
  ports: Record<UpstreamName, { port: number; pid: number }>
  tcp: { sinkPort: number; echoPort: number; pid: number }
  stop: () => Promise<void>
}

/** Starts a bench server script that prints one JSON line when it listens, and parses that line. */
export function startServerScript<T>(distDir: string, pinning: Pinning, script: string, args: readonly string[]): Promise<{ child: ChildProcess; info: T }> {
  const child = spawnPinned(pinning.load, process.execPath, [join(distDir, 'bench', 'servers', script), ...args], ['ignore', 'pipe', 'inherit'])
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => resolve({ child, info: JSON.parse(line) as T }))
    child.once('exit', (code) => reject(new Error(`${script} exited with code ${code} before listening`)))
  })
}

export async function startUpstreams(distDir: string, pinning: Pinning): Promise<Upstreams> {
  const a = await startServerScript<{ port: number }>(distDir, pinning, 'upstream.js', ['0'])
  const b = await startServerScript<{ port: number }>(distDir, pinning, 'upstream.js', ['0'])
  const tcp = await startServerScript<{ sinkPort: number; echoPort: number }>(distDir, pinning, 'tcp-upstream.js', [])
  return {
    ports: { a: { port: a.info.port, pid: a.child.pid! }, b: { port: b.info.port, pid: b.child.pid! } },
    tcp: { ...tcp.info, pid: tcp.child.pid! },
    stop: async () => {
      await stopProcess(a.child)
      await stopProcess(b.child)
      await stopProcess(tcp.child)
    },
  }
}
