import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface PathWatcherOptions {
  /** Interval of the polling fallback, for bind mounts and file systems without events. */
  pollMs: number
  /** Quiet time after the last event before `onChange` runs, so one save triggers one reload. */
  debounceMs: number
}

/**
 * Watches files and directories and calls `onChange` after they change. It watches each
 * file's parent directory, which keeps working when an editor replaces the file by rename,
 * and also polls sizes and modification times as a fallback.
 */
export class PathWatcher {
  readonly #paths: string[]
  readonly #onChange: () => void
  readonly #options: PathWatcherOptions
  readonly #watchers: FSWatcher[] = []
  #poll: NodeJS.Timeout | undefined
  #debounce: NodeJS.Timeout | undefined
  #signature = ''
  #closed = false

  constructor(paths: readonly string[], onChange: () => void, options: PathWatcherOptions) {
    this.#paths = [...paths]
    this.#onChange = onChange
    this.#options = options
  }

  async start(): Promise<void> {
    this.#signature = await this.#computeSignature()
    const dirs = new Set<string>()
    for (const path of this.#paths) {
      dirs.add(dirname(path))
      const info = await stat(path).catch(() => undefined)
      if (info?.isDirectory() === true) dirs.add(path)
    }
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#schedule())
        watcher.on('error', () => undefined)
        this.#watchers.push(watcher)
      } catch {
        // The directory may not exist yet; polling covers it.
      }
    }
    this.#poll = setInterval(() => void this.#checkPoll(), this.#options.pollMs)
    this.#poll.unref()
  }

  close(): void {
    this.#closed = true
    for (const w of this.#watchers) w.close()
    this.#watchers.length = 0
    clearInterval(this.#poll)
    clearTimeout(this.#debounce)
  }

  #schedule(): void {
    if (this.#closed) return
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => void this.#fire(), this.#options.debounceMs)
    this.#debounce.unref()
  }

  async #fire(): Promise<void> {
    const next = await this.#computeSignature()
    if (this.#closed || next === this.#signature) return
    this.#signature = next
    this.#onChange()
  }

  async #checkPoll(): Promise<void> {
    const next = await this.#computeSignature()
    if (!this.#closed && next !== this.#signature) this.#schedule()
  }

  async #computeSignature(): Promise<string> {
    const { readdir } = await import('node:fs/promises')
    const parts: string[] = []
    for (const path of this.#paths) {
      const info = await stat(path).catch(() => undefined)
      if (info === undefined) {
        parts.push(`${path}:missing`)
        continue
      }
      if (!info.isDirectory()) {
        parts.push(`${path}:${info.size}:${info.mtimeMs}:${info.ino}`)
        continue
      }
      const names = (await readdir(path).catch(() => [] as string[])).sort()
      for (const name of names) {
        const child = await stat(`${path}/${name}`).catch(() => undefined)
        if (child !== undefined) parts.push(`${path}/${name}:${child.size}:${child.mtimeMs}:${child.ino}`)
      }
    }
    return parts.join('|')
  }
}
