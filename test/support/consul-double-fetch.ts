import type { ConsulDouble } from './consul-double.js'

export interface DoubleResponse {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown
}

/** Sends one plain HTTP request to the double, for tests that check the wire format. */
export async function callDouble(
  double: ConsulDouble,
  path: string,
  init: { method?: string; body?: string | Buffer | object; headers?: Record<string, string> } = {},
): Promise<DoubleResponse> {
  let body: string | ArrayBuffer | undefined
  if (init.body === undefined || typeof init.body === 'string') body = init.body
  else if (Buffer.isBuffer(init.body)) body = Uint8Array.from(init.body).buffer
  else body = JSON.stringify(init.body)
  const res = await fetch(`http://${double.address}${path}`, {
    method: init.method ?? 'GET',
    body,
    headers: init.headers,
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}
