import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Problem } from '../errors.js'
import type { IngressSpec } from './model.js'
import { parseRuleFileAsync, type IngressClassPolicy, type SkippedObject } from './parse-ingress.js'

/** Outcome of one pass over the rule files. */
export interface RuleScan {
  /** Files whose new content was accepted. */
  accepted: string[]
  /** Files whose new content was rejected; their last good version stays in use. */
  rejected: Array<{ file: string; problems: Problem[] }>
  /** Files that disappeared; their rules are dropped. */
  removed: string[]
  skipped: SkippedObject[]
  changed: boolean
}

interface FileState {
  hash: string
  /** Last good content; undefined when the file never parsed. */
  ingresses: IngressSpec[] | undefined
}

const RULE_FILE = /\.(ya?ml)$/i

/** Returns whether a directory entry is read as a rule file: `*.yaml` or `*.yml`, not hidden. */
export function isRuleFileName(name: string): boolean {
  return RULE_FILE.test(name) && !name.startsWith('.')
}

/**
 * The Ingress rule files of the gateway, each with its last good content. A file that fails
 * validation keeps its previous rules; other files are never affected by it.
 */
export class RuleSet {
  readonly #paths: string[]
  readonly #policy: IngressClassPolicy & { maxFileBytes?: number }
  readonly #files = new Map<string, FileState>()

  constructor(paths: readonly string[], policy: IngressClassPolicy & { maxFileBytes?: number }) {
    this.#paths = [...paths]
    this.#policy = policy
  }

  get paths(): readonly string[] {
    return this.#paths
  }

  /**
   * Reads every rule file and re-validates those whose content changed. Large files are parsed
   * in slices, so the event loop keeps serving while it runs. Calls run one at a time.
   */
  scan(): Promise<RuleScan> {
    const next = this.#scanning.then(() => this.#scanNow())
    this.#scanning = next.catch(() => undefined)
    return next
  }

  #scanning: Promise<unknown> = Promise.resolve()

  async #scanNow(): Promise<RuleScan> {
    const scan: RuleScan = { accepted: [], rejected: [], removed: [], skipped: [], changed: false }
    const present = new Set<string>()
    for (const file of this.#listFiles(scan)) {
      present.add(file)
      let text: string
      try {
        const size = statSync(file).size
        const max = this.#policy.maxFileBytes
        if (max !== undefined && size > max) {
          scan.rejected.push({ file, problems: [{ file, path: '', message: `the file is ${size} bytes, more than ingress.maxFileBytes (${max}); split it into several files` }] })
          continue
        }
        text = readFileSync(file, 'utf8')
      } catch (err) {
        scan.rejected.push({ file, problems: [{ file, path: '', message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})` }] })
        continue
      }
      const hash = createHash('sha1').update(text).digest('hex')
      const state = this.#files.get(file)
      if (state?.hash === hash) continue
      const parsed = await parseRuleFileAsync(file, text, this.#policy)
      scan.skipped.push(...parsed.skipped)
      if (parsed.problems.length > 0) {
        scan.rejected.push({ file, problems: parsed.problems })
        this.#files.set(file, { hash, ingresses: state?.ingresses })
        continue
      }
      this.#files.set(file, { hash, ingresses: parsed.ingresses })
      scan.accepted.push(file)
      scan.changed = true
    }
    for (const file of [...this.#files.keys()]) {
      if (present.has(file)) continue
      this.#files.delete(file)
      scan.removed.push(file)
      scan.changed = true
    }
    return scan
  }

  /** Returns all Ingresses in load order: configured paths in order, files of a directory by name. */
  ingresses(): IngressSpec[] {
    const out: IngressSpec[] = []
    for (const state of this.#files.values()) if (state.ingresses !== undefined) out.push(...state.ingresses)
    return out
  }

  #listFiles(scan: RuleScan): string[] {
    const files: string[] = []
    for (const path of this.#paths) {
      let isDir: boolean
      try {
        isDir = statSync(path).isDirectory()
      } catch (err) {
        scan.rejected.push({ file: path, problems: [{ file: path, path: '', message: `cannot read rule path (${(err as NodeJS.ErrnoException).code ?? String(err)})` }] })
        if (this.#files.has(path)) files.push(path)
        continue
      }
      if (!isDir) {
        files.push(path)
        continue
      }
      for (const name of readdirSync(path).sort()) {
        if (isRuleFileName(name)) files.push(join(path, name))
      }
    }
    return files
  }
}
