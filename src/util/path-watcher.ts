import { watch, type FSWatcher } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'

export interface PathWatcherOptions {
  /** Interval of the polling fallback, for bind mounts and file systems without events. */
  pollMs: number
  /** Delay from the first event to `onChange`, so the several events of one save trigger one reload. */
  debounceMs: number
  /** Filter for the entries of a watched directory that matter; all of them when omitted. */
  includeEntry?: (name: string) => boolean
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
    // Per watched directory: the file names that matter, or null when any matching entry does.
    const dirs = new Map<string, Set<string> | null>()
    for (const path of this.#paths) {
      const info = await stat(path).catch(() => undefined)
      if (info?.isDirectory() === true) {
        dirs.set(path, null)
        continue
      }
      const parent = dirname(path)
      const names = dirs.get(parent)
      if (names === null) continue
      dirs.set(parent, (names ?? new Set<string>()).add(basename(path)))
    }
    for (const [dir, names] of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          // Events of unrelated files, such as a log written next to the rules, are ignored.
          if (filename !== null && !this.#matters(String(filename), names)) return
          this.#schedule()
        })
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

  #matters(name: string, names: Set<string> | null): boolean {
    if (names !== null) return names.has(name)
    return this.#options.includeEntry === undefined || this.#options.includeEntry(name)
  }

  /** Runs `onChange` once, `debounceMs` after the first event; later events do not postpone it. */
  #schedule(): void {
    if (this.#closed || this.#debounce !== undefined) return
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined
      void this.#fire()
    }, this.#options.debounceMs)
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
        if (this.#options.includeEntry !== undefined && !this.#options.includeEntry(name)) continue
        const child = await stat(`${path}/${name}`).catch(() => undefined)
        if (child !== undefined) parts.push(`${path}/${name}:${child.size}:${child.mtimeMs}:${child.ino}`)
      }
    }
    return parts.join('|')
  }
}
