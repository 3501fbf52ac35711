/** Finds installed programs for the optional nginx and HAProxy targets. */
import { execFileSync } from 'node:child_process'

/** Returns the path of `name` on PATH (or in /usr/sbin), or undefined when it is not installed. */
export function findProgram(name: string): string | undefined {
  try {
    const path = execFileSync('sh', ['-c', `command -v ${name} || { test -x /usr/sbin/${name} && echo /usr/sbin/${name}; }`], {
      encoding: 'utf8',
    }).trim()
    return path === '' ? undefined : path
  } catch {
    return undefined
  }
}
