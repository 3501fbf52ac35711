import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERRORS } from '../../src/errors.js'

describe('error code table', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^## (GW_[A-Z_]+)$/gm)].map((m) => m[1])

  it('documents every code', () => {
    for (const code of Object.keys(ERRORS)) expect(documented).toContain(code)
  })

  it('documents no unknown code', () => {
    for (const code of documented) expect(Object.keys(ERRORS)).toContain(code)
  })

  it('gives every code a distinct flag', () => {
    const flags = Object.values(ERRORS).map((e) => e.flag)
    expect(new Set(flags).size).toBe(flags.length)
  })
})
