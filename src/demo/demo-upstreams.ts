import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoUpstreamConfig } from '../config/types.js'
import type { Logger } from '../log.js'

const ECHO_SERVER = fileURLToPath(new URL('./echo-server.js', import.meta.url))

/** Starts the demo echo servers as child processes and resolves once all listen. */
export async function startDemoUpstreams(list: readonly DemoUpstreamConfig[], log: Logger): Promise<() => void> {
  const children: ChildProcess[] = []
  const stopAll = (): void => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
  try {
    await Promise.all(list.map((u) => startOne(u, children)))
  } catch (err) {
    stopAll()
    throw err
  }
  for (const u of list) log.info({ upstream: u.name, address: `${u.host}:${u.port}` }, 'demo upstream started')
  return stopAll
}

function startOne(u: DemoUpstreamConfig, children: ChildProcess[]): Promise<void> {
  const child = fork(ECHO_SERVER, [u.name, u.host, String(u.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`demo upstream ${u.name} exited with code ${code} before listening on ${u.host}:${u.port}`)))
  })
}
