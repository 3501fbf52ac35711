import { isIP } from 'node:net'

/** Splits `host:port` or `[v6]:port`; returns undefined when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const end = text.indexOf(']:')
    if (end === -1) return undefined
    host = text.slice(1, end)
    portText = text.slice(end + 2)
    if (isIP(host) !== 6) return undefined
  } else {
    const colon = text.lastIndexOf(':')
    if (colon <= 0 || text.indexOf(':') !== colon) return undefined
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined
  const port = Number(portText)
  if (port < 1 || port > 65535) return undefined
  return { host, port }
}

/** Formats a host and port, bracketing IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}
