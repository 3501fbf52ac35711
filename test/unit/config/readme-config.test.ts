import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load-config.js'
import { formatProblem } from '../../../src/errors.js'

describe('README config example', () => {
  it('parses without problems', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Configuration'))
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1]
    expect(block).toBeDefined()
    const result = parseConfig('README.md', block!, '/etc/portway')
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([])
  })

  it('embedded demo config parses', () => {
    const text = readFileSync(new URL('../../../config/default.yaml', import.meta.url), 'utf8')
    const result = parseConfig('default.yaml', text, '/demo')
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([])
  })
})
