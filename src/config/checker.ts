import type { Problem } from '../errors.js'
import { formatPath, type YamlDoc } from './yaml-source.js'

export type FieldPath = ReadonlyArray<string | number>

/**
 * Collects validation problems for one YAML document, each with its field path and line,
 * so that a file reports every problem at once.
 */
export class Checker {
  readonly problems: Problem[] = []

  constructor(readonly doc: YamlDoc) {}

  report(path: FieldPath, message: string): void {
    this.problems.push({
      file: this.doc.file,
      path: formatPath(path),
      line: this.doc.lineOf(path),
      message,
    })
  }

  /** Returns the value as a plain object, or undefined after reporting a problem. */
  object(value: unknown, path: FieldPath, required = false): Record<string, unknown> | undefined {
    if (value === undefined || value === null) {
      if (required) this.report(path, 'is required')
      return undefined
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.report(path, `must be a mapping, got ${describe(value)}`)
      return undefined
    }
    return value as Record<string, unknown>
  }

  array(value: unknown, path: FieldPath, required = false): unknown[] | undefined {
    if (value === undefined || value === null) {
      if (required) this.report(path, 'is required')
      return undefined
    }
    if (!Array.isArray(value)) {
      this.report(path, `must be a list, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  string(value: unknown, path: FieldPath, required = false): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.report(path, 'is required')
      return undefined
    }
    if (typeof value !== 'string' || value === '') {
      this.report(path, `must be a non-empty string, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  integer(value: unknown, path: FieldPath, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.report(path, `must be an integer from ${min} to ${max}, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  boolean(value: unknown, path: FieldPath): boolean | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'boolean') {
      this.report(path, `must be true or false, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  oneOf<T extends string>(value: unknown, path: FieldPath, allowed: readonly T[]): T | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.report(path, `must be one of ${allowed.join(', ')}, got ${describe(value)}`)
      return undefined
    }
    return value as T
  }

  /** Reports every key of `obj` that is not in `known`, which catches typos early. */
  unknownKeys(obj: Record<string, unknown>, path: FieldPath, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        this.report([...path, key], `is not a known field (known: ${known.join(', ')})`)
      }
    }
  }
}

/** Describes a value for an error message without dumping large structures. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '...' : value)
  return String(value)
}
