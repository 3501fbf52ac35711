import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ControlError } from '../../../src/control/errors.js'
import { FileStore } from '../../../src/control/file-store.js'
import { emptyState, type ControlState } from '../../../src/control/model.js'

const SOURCE_DIR = fileURLToPath(new URL('../../../src/control/', import.meta.url))
const WRITER = fileURLToPath(new URL('./fixtures/file-store-writer.mjs', import.meta.url))

function withAccount(state: ControlState, id: string): ControlState {
  return { ...state, accounts: { ...state.accounts, [id]: { id, name: id, version: 1 } } }
}

async function errorOf(promise: Promise<unknown>): Promise<ControlError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ControlError)
  return err as ControlError
}

/** Compiles src/control to plain ESM so a child Node process can import the real store. */
async function compileControlSources(outDir: string): Promise<string> {
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}\n')
  for (const name of await readdir(SOURCE_DIR)) {
    if (!name.endsWith('.ts')) continue
    const source = await readFile(join(SOURCE_DIR, name), 'utf8')
    const output = ts.transpileModule(source, {
      fileName: name,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    })
    await writeFile(join(outDir, name.replace(/\.ts$/, '.js')), output.outputText)
  }
  return join(outDir, 'file-store.js')
}

interface CrashRun {
  acked: number[]
  signal: NodeJS.Signals | null
}

/** Runs the writer child and kills it with SIGKILL as soon as it has acknowledged `killAfter` writes. */
function runWriterUntilKilled(modulePath: string, statePath: string, killAfter: number): Promise<CrashRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, modulePath, statePath, '100000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acked: number[] = []
    let buffered = ''
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) acked.push(Number(line))
      if (acked.length >= killAfter) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal === null) reject(new Error(`writer exited with code ${code} before the kill: ${stderr}`))
      else resolve({ acked, signal })
    })
  })
}

describe('FileStore', () => {
  let dir: string
  let path: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portway-file-store-'))
    path = join(dir, 'control.json')
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('starts empty without a file', async () => {
    const store = await FileStore.open(path)

    expect(await store.load()).toEqual({ state: emptyState(), revision: 0 })
  })

  it('reopens what it wrote', async () => {
    const store = await FileStore.open(path)
    const written = await store.write(withAccount(emptyState(), 'acc-1'), 0)
    await store.close()

    const reopened = await (await FileStore.open(path)).load()

    expect(written.revision).toBe(1)
    expect(reopened.revision).toBe(1)
    expect(Object.keys(reopened.state.accounts)).toEqual(['acc-1'])
  })

  it('keeps the previous version as .bak', async () => {
    const store = await FileStore.open(path)
    await store.write(withAccount(emptyState(), 'acc-1'), 0)
    await store.write(withAccount(emptyState(), 'acc-2'), 1)

    const backup = JSON.parse(await readFile(`${path}.bak`, 'utf8')) as { revision: number; state: ControlState }

    expect(backup.revision).toBe(1)
    expect(Object.keys(backup.state.accounts)).toEqual(['acc-1'])
  })

  it('rejects a stale revision', async () => {
    const store = await FileStore.open(path)
    await store.write(emptyState(), 0)

    const err = await errorOf(store.write(emptyState(), 0))

    expect(err.code).toBe('GW_CTL_CONFLICT')
    expect(err.status).toBe(409)
  })

  it('lets one of two racing writes win', async () => {
    const store = await FileStore.open(path)

    const results = await Promise.allSettled([
      store.write(withAccount(emptyState(), 'acc-a'), 0),
      store.write(withAccount(emptyState(), 'acc-b'), 0),
    ])

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected'])
    expect(Object.keys((await store.load()).state.accounts)).toEqual(['acc-a'])
  })

  it('removes temp files of an interrupted write', async () => {
    await writeFile(`${path}.tmp-999-1`, '{"partial')

    await FileStore.open(path)

    expect(await readdir(dir)).toEqual([])
  })

  it.each([
    ['truncated JSON', '{"format":1,"revision":3,"state":{"acc'],
    ['wrong format', '{"format":7,"revision":3,"state":{}}'],
    ['missing section', '{"format":1,"revision":3,"state":{"accounts":{}}}'],
    ['empty file', ''],
  ])('rejects a corrupt file: %s', async (_name, text) => {
    await writeFile(path, text)

    const err = await errorOf(FileStore.open(path))

    expect(err.code).toBe('GW_CTL_STORE_CORRUPT')
    expect(err.status).toBe(500)
    expect(err.message).toContain(path)
    expect(err.message).toContain(`no backup ${path}.bak exists`)
  })

  it('points a corrupt file at its backup', async () => {
    const store = await FileStore.open(path)
    await store.write(withAccount(emptyState(), 'acc-1'), 0)
    await store.write(withAccount(emptyState(), 'acc-2'), 1)
    await writeFile(path, 'garbage')

    const err = await errorOf(FileStore.open(path))

    expect(err.message).toContain(`cp ${path}.bak ${path}`)
  })
})

describe('FileStore after SIGKILL', () => {
  let dir: string
  let modulePath: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portway-file-store-crash-'))
    modulePath = await compileControlSources(await mkdtemp(join(dir, 'build-')))
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps every acknowledged write', async () => {
    const path = join(dir, 'state', 'control.json')
    const allAcked: number[] = []

    for (let round = 0; round < 3; round++) {
      const run = await runWriterUntilKilled(modulePath, path, 25)
      expect(run.signal).toBe('SIGKILL')
      allAcked.push(...run.acked)

      const text = await readFile(path, 'utf8')
      expect(() => JSON.parse(text)).not.toThrow()
      const { state, revision } = await (await FileStore.open(path)).load()
      for (const i of allAcked) expect(state.accounts, `acc-${i}`).toHaveProperty(`acc-${i}`)
      expect(revision).toBeGreaterThanOrEqual(allAcked.length)
    }

    const leftovers = (await readdir(join(dir, 'state'))).filter((n) => n !== basename(path) && !n.endsWith('.bak'))
    expect(leftovers).toEqual([])
  })
})
