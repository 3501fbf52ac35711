import { constants as fsConstants } from 'node:fs'
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ControlError } from './errors.js'
import { emptyState, type ControlState, type StateSnapshot } from './model.js'
import { checkStateShape, revisionConflict, type ControlStore } from './store.js'

/** Version of the file layout, so a later layout can be recognised and migrated. */
const FILE_FORMAT = 1

interface StateFile {
  format: number
  revision: number
  state: ControlState
}

/**
 * Keeps the control state in one JSON file. A write goes to a temporary file in the same
 * directory, is fsynced, and replaces the file by rename. The previous file stays as `<path>.bak`.
 * A write resolves only after the directory is fsynced too, so an acknowledged write survives
 * a crash of the process.
 *
 * NOTE: one process owns a file. Writes within the process are serialised and checked against
 * the revision, but two processes writing the same file are not detected.
 */
export class FileStore implements ControlStore {
  readonly path: string
  #json: string
  #revision: number
  #queue: Promise<unknown> = Promise.resolve()
  #tempCount = 0

  private constructor(path: string, json: string, revision: number) {
    this.path = path
    this.#json = json
    this.#revision = revision
  }

  /**
   * Opens the file at `path`, or starts empty when it does not exist. Rejects with
   * `GW_CTL_STORE_CORRUPT` when it exists but cannot be parsed, and never starts empty then.
   */
  static async open(path: string): Promise<FileStore> {
    await mkdir(dirname(path), { recursive: true })
    await removeTempFiles(path)

    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return new FileStore(path, JSON.stringify(emptyState()), 0)
      const message = `cannot read control state file ${path}: ${String(err)}`
      throw new ControlError('GW_CTL_STORE_UNAVAILABLE', message, { cause: err })
    }

    const doc = await parseStateFile(path, text)
    return new FileStore(path, JSON.stringify(doc.state), doc.revision)
  }

  async load(): Promise<StateSnapshot> {
    return { state: JSON.parse(this.#json) as ControlState, revision: this.#revision }
  }

  write(state: ControlState, expectedRevision: number): Promise<StateSnapshot> {
    const next = this.#queue.then(() => this.#write(state, expectedRevision))
    this.#queue = next.catch(() => undefined)
    return next
  }

  async close(): Promise<void> {
    await this.#queue
  }

  async #write(state: ControlState, expectedRevision: number): Promise<StateSnapshot> {
    if (expectedRevision !== this.#revision) {
      throw revisionConflict(this.path, expectedRevision, this.#revision)
    }

    const json = JSON.stringify(state)
    const revision = this.#revision + 1
    const doc: StateFile = { format: FILE_FORMAT, revision, state }
    this.#tempCount += 1
    const tempPath = `${this.path}.tmp-${process.pid}-${this.#tempCount}`
    try {
      await writeDurably(tempPath, `${JSON.stringify(doc, null, 2)}\n`)
      await keepBackup(this.path, `${tempPath}.bak`)
      await rename(tempPath, this.path)
      await syncDirectory(dirname(this.path))
    } catch (err) {
      await rm(tempPath, { force: true })
      const message = `cannot write control state file ${this.path}: ${String(err)}`
      throw new ControlError('GW_CTL_STORE_UNAVAILABLE', message, { cause: err })
    }

    this.#json = json
    this.#revision = revision
    return { state, revision }
  }
}

async function parseStateFile(path: string, text: string): Promise<StateFile> {
  let problem: string | undefined
  let doc: Partial<StateFile> = {}
  try {
    doc = JSON.parse(text) as Partial<StateFile>
  } catch (err) {
    problem = `not valid JSON: ${(err as Error).message}`
  }

  if (problem === undefined) {
    if (doc.format !== FILE_FORMAT) {
      problem = `unknown format ${JSON.stringify(doc.format)}, expected ${FILE_FORMAT}`
    } else if (!Number.isInteger(doc.revision) || (doc.revision as number) < 1) problem = 'revision is missing'
    else problem = checkStateShape(doc.state)
  }
  if (problem === undefined) return doc as StateFile

  const backup = `${path}.bak`
  const hasBackup = await stat(backup).then(
    () => true,
    () => false,
  )
  const fix = hasBackup
    ? `restore the previous version with 'cp ${backup} ${path}', or remove ${path} to start with an empty state`
    : `no backup ${backup} exists; repair the file or remove it to start with an empty state`
  throw new ControlError('GW_CTL_STORE_CORRUPT', `control state file ${path} is corrupt (${problem}); ${fix}`)
}

async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Points `<path>.bak` at the current file before it is replaced. A hard link shares the
 * already-durable data, and renaming the link into place never leaves a partial backup.
 */
async function keepBackup(path: string, tempBackup: string): Promise<void> {
  try {
    await link(path, tempBackup)
  } catch (err) {
    const code = errorCode(err)
    if (code === 'ENOENT') return
    // Some filesystems have no hard links, and a copy gives the same result more slowly.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err
    await copyFile(path, tempBackup, fsConstants.COPYFILE_EXCL)
  }
  await rename(tempBackup, `${path}.bak`)
}

/** Makes renames in `dir` durable. Windows cannot open a directory for fsync, so it skips this. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Removes temporary files left by a process that died mid-write. Their writes were never acknowledged. */
async function removeTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`
  let names: string[]
  try {
    names = await readdir(dirname(path))
  } catch {
    return
  }
  await Promise.all(
    names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(path), n), { force: true })),
  )
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}
