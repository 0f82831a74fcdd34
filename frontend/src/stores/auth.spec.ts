import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { configureClient } from '@/api/client'
import type { User } from '@/api/types'
import { EXPIRES_KEY, TOKEN_KEY, useAuthStore } from './auth'

const user: User = {
  id: 1,
  username: 'xiaoming',
  email: 'xm@example.com',
  nickname: '小明',
  avatar_url: '',
  signature: '',
  gender: '',
  birthday: '',
  location: '',
  activated: true,
  created_at: '2025-01-02T03:04:05Z',
}

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status })
}

type Route = (url: string, init: RequestInit) => Response | Promise<Response>

describe('auth store', () => {
  let routes: Record<string, Route>
  const fetchMock = vi.fn<typeof fetch>()

  function setup() {
    setActivePinia(createPinia())
    const store = useAuthStore()
    configureClient({ getToken: () => store.token, onUnauthorized: () => store.handleUnauthorized() })
    return store
  }

  function sent(path: string): RequestInit | undefined {
    return fetchMock.mock.calls.find(([url, init]) => `${init?.method ?? 'GET'} ${url}` === path)?.[1]
  }

  beforeEach(() => {
    localStorage.clear()
    routes = {}
    fetchMock.mockReset()
    fetchMock.mockImplementation(async (url, init) => {
      const key = `${init?.method ?? 'GET'} ${String(url)}`
      const route = routes[key]
      if (!route) throw new Error(`unexpected request ${key}`)
      return route(String(url), init ?? {})
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => vi.unstubAllGlobals())

  it('login stores the token in the store and in localStorage', async () => {
    routes['POST /api/v1/auth/login'] = () =>
      json(200, { token: 'jwt-abc', expires_at: '2999-01-01T00:00:00Z', user })
    const auth = setup()
    expect(auth.isLoggedIn).toBe(false)
    const u = await auth.login('  XiaoMing ', 'secret123')
    expect(u.username).toBe('xiaoming')
    expect(auth.token).toBe('jwt-abc')
    expect(auth.isLoggedIn).toBe(true)
    expect(auth.user?.nickname).toBe('小明')
    expect(localStorage.getItem(TOKEN_KEY)).toBe('jwt-abc')
    expect(localStorage.getItem(EXPIRES_KEY)).toBe('2999-01-01T00:00:00Z')
    // usernames are sent lower-case; the login route never carries a token
    const init = sent('POST /api/v1/auth/login')!
    expect(JSON.parse(init.body as string)).toEqual({ login: 'xiaoming', password: 'secret123' })
    expect((init.headers as Record<string, string>).Authorization).toBeUndefined()
  })

  it('login with an email keeps it as typed (trimmed)', async () => {
    routes['POST /api/v1/auth/login'] = () => json(200, { token: 't', expires_at: '2999-01-01T00:00:00Z', user })
    const auth = setup()
    await auth.login(' XM@Example.com ', 'secret123')
    expect(JSON.parse(sent('POST /api/v1/auth/login')!.body as string).login).toBe('XM@Example.com')
  })

  it('a failed login stores nothing and passes the error on', async () => {
    routes['POST /api/v1/auth/login'] = () =>
      json(403, { error: { code: 'account_inactive', message: 'activate first' } })
    const auth = setup()
    await expect(auth.login('xiaoming', 'secret123')).rejects.toMatchObject({ status: 403, code: 'account_inactive' })
    expect(auth.token).toBeNull()
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('picks up a stored token on start', () => {
    localStorage.setItem(TOKEN_KEY, 'stored')
    const auth = setup()
    expect(auth.token).toBe('stored')
    expect(auth.isLoggedIn).toBe(true)
  })

  it('logout calls the server with the token, then clears it', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['POST /api/v1/auth/logout'] = () => json(204)
    const auth = setup()
    await auth.logout()
    expect((sent('POST /api/v1/auth/logout')!.headers as Record<string, string>).Authorization).toBe('Bearer tok')
    expect(auth.token).toBeNull()
    expect(auth.isLoggedIn).toBe(false)
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('logout clears the token even when the server cannot be reached', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['POST /api/v1/auth/logout'] = () => {
      throw new TypeError('Failed to fetch')
    }
    const auth = setup()
    await auth.logout()
    expect(auth.token).toBeNull()
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('a 401 from /me ends the session', async () => {
    localStorage.setItem(TOKEN_KEY, 'revoked')
    routes['GET /api/v1/me'] = () => json(401, { error: { code: 'unauthorized', message: 'revoked' } })
    const auth = setup()
    await expect(auth.fetchMe()).rejects.toMatchObject({ status: 401 })
    expect(auth.token).toBeNull()
    expect(auth.sessionEnded).toBe(true)
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('fetchMe and updateProfile keep the user, accepting bare or wrapped objects', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['GET /api/v1/me'] = () => json(200, user)
    routes['PATCH /api/v1/me'] = (_u, init) => json(200, { user: { ...user, ...JSON.parse(init.body as string) } })
    const auth = setup()
    await auth.fetchMe()
    expect(auth.user?.email).toBe('xm@example.com')
    await auth.updateProfile({ nickname: '小明 👨‍👩‍👧 🇨🇳', birthday: '2000-02-29' })
    expect(auth.user?.nickname).toBe('小明 👨‍👩‍👧 🇨🇳')
    expect(auth.user?.birthday).toBe('2000-02-29')
  })

  it('changePassword keeps this session', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['PUT /api/v1/me/password'] = () => json(204)
    const auth = setup()
    await auth.changePassword('oldpass12', 'newpass34')
    expect(JSON.parse(sent('PUT /api/v1/me/password')!.body as string)).toEqual({
      old_password: 'oldpass12',
      new_password: 'newpass34',
    })
    expect(auth.token).toBe('tok')
  })

  it('changePassword: a 401 while /me still works means a wrong old password', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['PUT /api/v1/me/password'] = () => json(401, { error: { code: 'unauthorized', message: 'wrong password' } })
    routes['GET /api/v1/me'] = () => json(200, user)
    const auth = setup()
    await expect(auth.changePassword('bad', 'newpass34')).rejects.toMatchObject({ code: 'wrong_password', field: 'old_password' })
    expect(auth.token).toBe('tok')
  })

  it('changePassword: a 401 with a dead session ends it', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    routes['PUT /api/v1/me/password'] = () => json(401, { error: { code: 'unauthorized', message: 'expired' } })
    routes['GET /api/v1/me'] = () => json(401, { error: { code: 'unauthorized', message: 'expired' } })
    const auth = setup()
    await expect(auth.changePassword('oldpass12', 'newpass34')).rejects.toMatchObject({ code: 'unauthorized' })
    expect(auth.token).toBeNull()
  })

  it('checkExpiry drops a token past its expiry time', () => {
    localStorage.setItem(TOKEN_KEY, 'old')
    localStorage.setItem(EXPIRES_KEY, '2000-01-01T00:00:00Z')
    const auth = setup()
    expect(auth.checkExpiry()).toBe(false)
    expect(auth.token).toBeNull()
  })

  it('register normalizes input and drops an empty nickname', async () => {
    routes['POST /api/v1/auth/register'] = (_u, init) => {
      const b = JSON.parse(init.body as string)
      return json(201, { user: { ...user, username: b.username, email: b.email, nickname: b.nickname ?? '', activated: false } })
    }
    const auth = setup()
    const u = await auth.register({ username: ' NewUser ', email: ' n@example.com ', password: 'secret123', nickname: '  ' })
    expect(JSON.parse(sent('POST /api/v1/auth/register')!.body as string)).toEqual({
      username: 'newuser',
      email: 'n@example.com',
      password: 'secret123',
    })
    expect(u.activated).toBe(false)
    expect(auth.token).toBeNull()
  })
})
