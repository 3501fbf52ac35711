import { watch, watchFile, unwatchFile, type FSWatcher, type StatsListener } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Logger } from 'pino'

export interface CertificateWatcherOptions {
  files: readonly string[]
  /** Interval in ms of the stat polling. Set 0 to turn polling off. */
  pollIntervalMs: number
  /** Delay in ms that collapses a burst of events into one `onChange` call. */
  debounceMs: number
  logger: Logger
  onChange: () => void
}

/**
 * Watches certificate files for changes. fs.watch on the parent folder catches files that
 * editors or Kubernetes secret volumes replace (a rename or a symlink swap of `..data`),
 * which a watch on the file itself would lose. Stat polling backs it up on bind mounts and
 * network filesystems where change events do not arrive.
 */
export class CertificateWatcher {
  readonly #options: CertificateWatcherOptions
  readonly #watchers: FSWatcher[] = []
  readonly #polled = new Map<string, StatsListener>()
  #timer: NodeJS.Timeout | undefined

  constructor(options: CertificateWatcherOptions) {
    this.#options = options
  }

  start(): void {
    const namesByFolder = new Map<string, Set<string>>()
    for (const file of this.#options.files) {
      const names = namesByFolder.get(dirname(file)) ?? new Set<string>()
      names.add(basename(file))
      namesByFolder.set(dirname(file), names)
    }
    for (const [folder, names] of namesByFolder) this.#watchFolder(folder, names)
    if (this.#options.pollIntervalMs > 0) {
      for (const file of new Set(this.#options.files)) this.#pollFile(file)
    }
  }

  close(): void {
    for (const watcher of this.#watchers) watcher.close()
    this.#watchers.length = 0
    for (const [file, listener] of this.#polled) unwatchFile(file, listener)
    this.#polled.clear()
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #watchFolder(folder: string, names: ReadonlySet<string>): void {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, filename) => {
        // A null name, or `..data` of a secret volume, may hide a change to a watched file.
        const name = filename?.toString()
        if (name === undefined || names.has(name) || name.startsWith('..')) this.#schedule()
      })
      watcher.on('error', (error) => {
        const message = 'certificate folder watch failed; polling continues'
        this.#options.logger.warn({ err: error, folder }, message)
      })
      this.#watchers.push(watcher)
    } catch (error) {
      const message = 'cannot watch certificate folder; polling continues'
      this.#options.logger.warn({ err: error, folder }, message)
    }
  }

  #pollFile(file: string): void {
    const listener: StatsListener = (current, previous) => {
      const isChanged =
        current.mtimeMs !== previous.mtimeMs ||
        current.ino !== previous.ino ||
        current.size !== previous.size
      if (isChanged) this.#schedule()
    }
    watchFile(file, { interval: this.#options.pollIntervalMs, persistent: false }, listener)
    this.#polled.set(file, listener)
  }

  #schedule(): void {
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#options.onChange()
    }, this.#options.debounceMs)
    this.#timer.unref()
  }
}
