import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built command-line program; `npm test` builds it before the tests run. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url))

/** A gateway running as its own process, on files in a temp dir. */
export interface GatewayProcess {
  child: ChildProcess
  dir: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Resolves with the exit code once the process ends. */
  exited(): Promise<number | null>
  /** Kills the process if it still runs and removes the temp dir. */
  cleanup(): void
}

/** Writes `files` (including `gateway.yaml`) into a temp dir and starts the CLI on them. */
export function spawnGateway(files: Record<string, string>): GatewayProcess {
  const dir = mkdtempSync(join(tmpdir(), 'portway-process-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const child = spawn(process.execPath, [CLI, '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    dir,
    output: () => output,
    exited: () => exit,
    cleanup: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
