// A thin fetch wrapper for the LeChat REST API (`/api/v1`). Every failure — an error
// envelope, a non-JSON answer, a network failure or a timeout — becomes an ApiError,
// so callers handle one type.
import { config } from '@/config'

/** Error codes of the API contract, plus the client-side ones below. */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'account_inactive'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'internal'
  // client side: no answer at all, or not in time
  | 'network_error'
  | 'timeout'
  | (string & {})

export class ApiError extends Error {
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number
  readonly code: ErrorCode
  /** Name of the request field the error is about, when the server says. */
  readonly field?: string

  constructor(status: number, code: ErrorCode, message: string, field?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    if (field) this.field = field
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError
}

export interface ClientHooks {
  /** The current session token, or null. */
  getToken: () => string | null
  /** Called when an authenticated request answers 401: the session is over. */
  onUnauthorized: () => void
}

let hooks: ClientHooks = { getToken: () => null, onUnauthorized: () => {} }

/** The current session token, or null (the upload route and the socket need it too). */
export function currentToken(): string | null {
  return hooks.getToken()
}

/** Ends the session the way a 401 does (the socket's 'token revoked' close uses it). */
export function sessionEnded(): void {
  hooks.onUnauthorized()
}

/** Plugs in the token source and the 401 handler (done once in main.ts). */
export function configureClient(h: Partial<ClientHooks>): void {
  hooks = { ...hooks, ...h }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Record<string, string | number | undefined>
  /** Send the session token (default true). Sign-up and sign-in routes pass false. */
  auth?: boolean
  /**
   * Whether a 401 ends the session through onUnauthorized (default true). Routes where a
   * 401 can mean something else (a wrong old password) pass false and check themselves.
   */
  endSessionOn401?: boolean
  /** Milliseconds before the request is given up (default 20 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

const DEFAULT_TIMEOUT_MS = 20_000

/** Full URL of an API path such as '/auth/login'. */
export function apiUrl(path: string, query?: RequestOptions['query']): string {
  let url = `${config.apiUrl}/api/v1${path}`
  if (query) {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v))
    const s = qs.toString()
    if (s) url += `?${s}`
  }
  return url
}

/** Code used when an error answer carries no envelope. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid_request'
    case 401: return 'unauthorized'
    case 403: return 'forbidden'
    case 404: return 'not_found'
    case 409: return 'conflict'
    case 413: return 'payload_too_large'
    case 415: return 'unsupported_media_type'
    case 429: return 'rate_limited'
    case 502: case 503: case 504: return 'unavailable'
    default: return 'internal'
  }
}

export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text()
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function errorFrom(status: number, body: unknown): ApiError {
  const env = (body as { error?: unknown } | null | undefined)?.error
  if (env && typeof env === 'object') {
    const e = env as { code?: unknown; message?: unknown; field?: unknown }
    const code = typeof e.code === 'string' && e.code ? e.code : codeForStatus(status)
    const message = typeof e.message === 'string' ? e.message : ''
    const field = typeof e.field === 'string' && e.field ? e.field : undefined
    return new ApiError(status, code, message, field)
  }
  return new ApiError(status, codeForStatus(status), `HTTP ${status}`)
}

/**
 * Sends one request and returns the decoded JSON answer (undefined for 204).
 * Throws ApiError. A 401 on a request that carried a token calls onUnauthorized.
 */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST')
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
  const token = opts.auth === false ? null : hooks.getToken()
  if (token) headers.Authorization = `Bearer ${token}`

  const ctrl = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    ctrl.abort()
  }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const onAbort = () => ctrl.abort()
  opts.signal?.addEventListener('abort', onAbort)

  let res: Response
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: ctrl.signal,
    })
  } catch (err) {
    if (timedOut) throw new ApiError(0, 'timeout', 'request timed out')
    throw new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err))
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }

  let body: unknown
  try {
    body = await readBody(res)
  } catch (err) {
    throw new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err))
  }
  if (!res.ok) {
    const err = errorFrom(res.status, body)
    if (res.status === 401 && token && opts.endSessionOn401 !== false) hooks.onUnauthorized()
    throw err
  }
  return body as T
}
