import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml'
import type { Problem } from '../errors.js'

/** A parsed YAML document that can map a field path back to its line in the file. */
export interface YamlDoc {
  file: string
  value: unknown
  /** Returns the 1-based line of the field at `path`, or of its nearest parent that exists. */
  lineOf(path: ReadonlyArray<string | number>): number | undefined
}

/**
 * Parses every document in a YAML text. Syntax errors come back as problems with their line;
 * the documents that parsed are returned as well.
 */
export function parseYamlDocuments(file: string, text: string): {
  docs: YamlDoc[]
  problems: Problem[]
} {
  const lineCounter = new LineCounter()
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const list = Array.isArray(parsed) ? parsed : [parsed]
  const docs: YamlDoc[] = []
  const problems: Problem[] = []
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const line = lineCounter.linePos(err.pos[0]).line
        problems.push({ file, path: '', line, message: `invalid YAML: ${firstLine(err.message)}` })
      }
      continue
    }
    if (doc.contents === null) continue
    docs.push(wrapDocument(file, doc, lineCounter))
  }
  return { docs, problems }
}

function wrapDocument(file: string, doc: Document, lineCounter: LineCounter): YamlDoc {
  const startLine = doc.contents && isNode(doc.contents) && doc.contents.range
    ? lineCounter.linePos(doc.contents.range[0]).line
    : undefined
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    lineOf(path) {
      for (let depth = path.length; depth >= 0; depth--) {
        const node = doc.getIn(path.slice(0, depth), true)
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line
      }
      return startLine
    },
  }
}

function firstLine(message: string): string {
  const end = message.indexOf('\n')
  return end === -1 ? message : message.slice(0, end)
}

/** Formats a field path as `a.b[0].c`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? part : `.${part}`
  }
  return out
}
