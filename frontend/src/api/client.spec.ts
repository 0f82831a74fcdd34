import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, apiUrl, configureClient, isApiError, request } from './client'

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (err) {
    expect(isApiError(err)).toBe(true)
    return err as ApiError
  }
  throw new Error('expected the request to fail')
}

describe('api client', () => {
  const fetchMock = vi.fn<typeof fetch>()
  const onUnauthorized = vi.fn()
  let token: string | null = null

  beforeEach(() => {
    fetchMock.mockReset()
    onUnauthorized.mockReset()
    token = null
    vi.stubGlobal('fetch', fetchMock)
    configureClient({ getToken: () => token, onUnauthorized })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })

  it('builds URLs under /api/v1 on the same origin by default', () => {
    expect(apiUrl('/me')).toBe('/api/v1/me')
    expect(apiUrl('/users', { q: '小明 a&b', cursor: undefined, limit: 10 })).toBe('/api/v1/users?q=%E5%B0%8F%E6%98%8E+a%26b&limit=10')
  })

  it('sends JSON and returns the decoded answer', async () => {
    fetchMock.mockResolvedValue(json(200, { id: 7, nickname: '小明 👨‍👩‍👧' }))
    const res = await request<{ id: number; nickname: string }>('/me', { method: 'PATCH', body: { nickname: '小明 👨‍👩‍👧' } })
    expect(res).toEqual({ id: 7, nickname: '小明 👨‍👩‍👧' })
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/v1/me')
    expect(init?.method).toBe('PATCH')
    expect(JSON.parse(init?.body as string)).toEqual({ nickname: '小明 👨‍👩‍👧' })
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json')
  })

  it('defaults to GET without a body and POST with one', async () => {
    fetchMock.mockImplementation(async () => json(200, {}))
    await request('/me')
    await request('/auth/logout', { body: {} })
    expect(fetchMock.mock.calls[0]![1]?.method).toBe('GET')
    expect(fetchMock.mock.calls[1]![1]?.method).toBe('POST')
  })

  it('returns undefined for 204 and 202 without a body', async () => {
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    fetchMock.mockResolvedValueOnce(new Response('', { status: 202 }))
    await expect(request('/auth/logout', { method: 'POST' })).resolves.toBeUndefined()
    await expect(request('/auth/resend-activation', { method: 'POST', body: { email: 'a@b.c' } })).resolves.toBeUndefined()
  })

  it('sends the bearer token unless auth is false', async () => {
    token = 'tok-1'
    fetchMock.mockImplementation(async () => json(200, {}))
    await request('/me')
    await request('/auth/login', { method: 'POST', body: {}, auth: false })
    expect((fetchMock.mock.calls[0]![1]?.headers as Record<string, string>).Authorization).toBe('Bearer tok-1')
    expect((fetchMock.mock.calls[1]![1]?.headers as Record<string, string>).Authorization).toBeUndefined()
  })

  it('parses the error envelope, with and without a field', async () => {
    fetchMock.mockResolvedValueOnce(json(409, { error: { code: 'conflict', message: 'username taken', field: 'username' } }))
    const e1 = await caught(request('/auth/register', { body: {}, auth: false }))
    expect(e1).toBeInstanceOf(ApiError)
    expect(e1).toMatchObject({ status: 409, code: 'conflict', message: 'username taken', field: 'username' })

    fetchMock.mockResolvedValueOnce(json(403, { error: { code: 'account_inactive', message: 'not activated' } }))
    const e2 = await caught(request('/auth/login', { body: {}, auth: false }))
    expect(e2).toMatchObject({ status: 403, code: 'account_inactive', message: 'not activated' })
    expect(e2.field).toBeUndefined()
  })

  it('derives a code from the status when there is no envelope', async () => {
    fetchMock.mockResolvedValueOnce(new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }))
    expect(await caught(request('/me'))).toMatchObject({ status: 502, code: 'unavailable' })
    fetchMock.mockResolvedValueOnce(new Response('', { status: 429 }))
    expect(await caught(request('/me'))).toMatchObject({ status: 429, code: 'rate_limited' })
    fetchMock.mockResolvedValueOnce(json(400, { error: 'bad' }))
    expect(await caught(request('/me'))).toMatchObject({ status: 400, code: 'invalid_request' })
  })

  it('ends the session on a 401 to an authenticated request', async () => {
    token = 'expired'
    fetchMock.mockImplementation(async () => json(401, { error: { code: 'unauthorized', message: 'token expired' } }))
    const err = await caught(request('/me'))
    expect(err).toMatchObject({ status: 401, code: 'unauthorized' })
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })

  it('does not end a session on a 401 to a request without a token (wrong password at login)', async () => {
    token = 'still-good'
    fetchMock.mockImplementation(async () => json(401, { error: { code: 'unauthorized', message: 'wrong credentials' } }))
    await caught(request('/auth/login', { body: {}, auth: false }))
    token = null
    await caught(request('/me'))
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('leaves a 401 to the caller when endSessionOn401 is false', async () => {
    token = 'tok'
    fetchMock.mockImplementation(async () => json(401, { error: { code: 'unauthorized', message: 'wrong old password' } }))
    await caught(request('/me/password', { method: 'PUT', body: {}, endSessionOn401: false }))
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('turns a network failure into ApiError status 0 network_error', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    const err = await caught(request('/me'))
    expect(err).toMatchObject({ status: 0, code: 'network_error', message: 'Failed to fetch' })
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('gives up after the timeout with code timeout', async () => {
    fetchMock.mockImplementation(
      (_url, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
        }),
    )
    const err = await caught(request('/me', { timeoutMs: 20 }))
    expect(err).toMatchObject({ status: 0, code: 'timeout' })
  })
})
