import { ControlError } from './errors.js'
import { STATE_SECTIONS, emptyState, type ControlState, type StateSnapshot } from './model.js'

/**
 * Durable home of the whole control state. Writes are compare-and-swap on the revision the
 * caller read, so of two writes based on the same revision exactly one succeeds.
 */
export interface ControlStore {
  /** Reads the current state and its revision (0 when nothing was ever written). */
  load(): Promise<StateSnapshot>
  /**
   * Replaces the state if the stored revision still equals `expectedRevision`, and resolves once
   * the write is durable. Otherwise rejects with `GW_CTL_CONFLICT`. Resolves with the state
   * stored after the write and its revision: normally `state` itself, but a store that cannot
   * learn its new revision atomically may return a later state that another writer built on it.
   */
  write(state: ControlState, expectedRevision: number): Promise<StateSnapshot>
  /**
   * Calls `listener` with each state written by someone else (another replica), when the store
   * can observe that. Returns a function that stops watching.
   */
  watch?(listener: (snapshot: StateSnapshot) => void): () => void
  close(): Promise<void>
}

export function revisionConflict(where: string, expected: number, actual: number): ControlError {
  return new ControlError(
    'GW_CTL_CONFLICT',
    `control state at ${where} changed since revision ${expected} (now ${actual}); reload and retry`,
  )
}

/**
 * Checks that a parsed document has the shape of a ControlState: an object with one object per
 * section. Records themselves are trusted because only this code writes them.
 */
export function checkStateShape(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'state is not an object'
  const sections = value as Record<string, unknown>
  for (const name of STATE_SECTIONS) {
    const section = sections[name]
    if (typeof section !== 'object' || section === null || Array.isArray(section)) {
      return `section ${name} is missing or not an object`
    }
  }
  return undefined
}

/** A store in memory, for tests and single-process tools. */
export class MemoryStore implements ControlStore {
  #json = ''
  #revision = 0

  async load(): Promise<StateSnapshot> {
    const state = this.#json === '' ? emptyState() : (JSON.parse(this.#json) as ControlState)
    return { state, revision: this.#revision }
  }

  async write(state: ControlState, expectedRevision: number): Promise<StateSnapshot> {
    if (expectedRevision !== this.#revision) {
      throw revisionConflict('memory', expectedRevision, this.#revision)
    }
    this.#json = JSON.stringify(state)
    this.#revision += 1
    return { state, revision: this.#revision }
  }

  async close(): Promise<void> {}
}
