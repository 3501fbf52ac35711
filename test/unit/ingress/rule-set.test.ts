import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RuleSet } from '../../../src/ingress/rule-set.js'

const RULE = 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: a }\nspec:\n  defaultBackend: { service: { name: web, port: { number: 80 } } }\n'

describe('rule set', () => {
  let dir: string

  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('rejects a file over the size limit and keeps its last good rules', async () => {
    dir = mkdtempSync(join(tmpdir(), 'portway-rules-'))
    const file = join(dir, 'a.yaml')
    writeFileSync(file, RULE)
    const rules = new RuleSet([dir], { className: 'portway', defaultClass: true, maxFileBytes: 1024 })
    expect((await rules.scan()).accepted).toEqual([file])
    writeFileSync(file, RULE + `# ${'x'.repeat(2048)}\n`)
    const scan = await rules.scan()
    expect(scan.rejected[0]?.problems[0]?.message).toMatch(/^the file is \d+ bytes, more than ingress\.maxFileBytes \(1024\); split it into several files$/)
    expect(rules.ingresses().map((i) => i.name)).toEqual(['default/a'])
  })

  it('keeps the last good rules of an emptied file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'portway-rules-'))
    const file = join(dir, 'a.yaml')
    writeFileSync(file, RULE)
    const rules = new RuleSet([dir], { className: 'portway', defaultClass: true })
    await rules.scan()
    writeFileSync(file, '')
    expect((await rules.scan()).rejected).toHaveLength(1)
    expect(rules.ingresses()).toHaveLength(1)
  })
})
