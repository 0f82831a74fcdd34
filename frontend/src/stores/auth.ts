// The session: token (kept in localStorage), the signed-in user, and every account
// action. Components call these; only this store talks to api/auth and api/me.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as authApi from '@/api/auth'
import { ApiError, isApiError } from '@/api/client'
import * as meApi from '@/api/me'
import type { ProfilePatch, RegisterInput, User } from '@/api/types'
import { normalizeUsername } from '@/utils/validation'

export const TOKEN_KEY = 'lechat.token'
export const EXPIRES_KEY = 'lechat.token_expires_at'

function load(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key)
    else localStorage.setItem(key, value)
  } catch {
    // blocked storage: the session lasts for this page only
  }
}

function isExpired(expiresAt: string | null, now = Date.now()): boolean {
  if (!expiresAt) return false
  const at = Date.parse(expiresAt)
  return Number.isFinite(at) && at <= now
}

export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | null>(load(TOKEN_KEY))
  const expiresAt = ref<string | null>(load(EXPIRES_KEY))
  const user = ref<User | null>(null)
  /** True after the server ended the session (a 401); the sign-in page says so. */
  const sessionEnded = ref(false)

  const isLoggedIn = computed(() => !!token.value)

  function setSession(newToken: string, newExpiresAt: string | null, u: User | null): void {
    token.value = newToken
    expiresAt.value = newExpiresAt || null
    user.value = u
    sessionEnded.value = false
    save(TOKEN_KEY, newToken)
    save(EXPIRES_KEY, newExpiresAt || null)
  }

  /** Forgets the session locally (no server call). */
  function clearSession(): void {
    token.value = null
    expiresAt.value = null
    user.value = null
    save(TOKEN_KEY, null)
    save(EXPIRES_KEY, null)
  }

  /** Called by the API client on a 401 to an authenticated request. */
  function handleUnauthorized(): void {
    if (token.value) sessionEnded.value = true
    clearSession()
  }

  /** Drops a token whose expiry time has passed; returns whether a session remains. */
  function checkExpiry(now = Date.now()): boolean {
    if (token.value && isExpired(expiresAt.value, now)) handleUnauthorized()
    return !!token.value
  }

  /** Signs in with a username or email. Throws ApiError (401, 403 account_inactive, 429). */
  async function login(loginName: string, password: string): Promise<User> {
    const name = loginName.trim()
    const res = await authApi.login(name.includes('@') ? name : normalizeUsername(name), password)
    setSession(res.token, res.expires_at, res.user)
    return res.user
  }

  /** Ends this device's session on the server, then forgets it here even if that failed. */
  async function logout(): Promise<void> {
    try {
      if (token.value) await authApi.logout()
    } catch {
      // offline or already invalid: signing out locally is what the user asked for
    } finally {
      clearSession()
      sessionEnded.value = false
    }
  }

  async function fetchMe(): Promise<User> {
    user.value = await meApi.getMe()
    return user.value
  }

  async function updateProfile(patch: ProfilePatch): Promise<User> {
    user.value = await meApi.updateMe(patch)
    return user.value
  }

  /**
   * Changes the password; this session stays valid, the user's other tokens do not.
   * A wrong old password comes back as ApiError with code 'wrong_password'.
   */
  async function changePassword(oldPassword: string, newPassword: string): Promise<void> {
    try {
      await meApi.changePassword(oldPassword, newPassword)
    } catch (err) {
      // A wrong old password may come back as 401 or 403: tell that apart from an ended
      // session by asking /me (whose 401 ends the session through the client's handler).
      if (isApiError(err) && (err.status === 401 || err.status === 403)) throw await wrongPasswordOr(err)
      throw err
    }
  }

  async function wrongPasswordOr(err: ApiError): Promise<ApiError> {
    try {
      await meApi.getMe()
    } catch (e) {
      return isApiError(e) ? e : err
    }
    return new ApiError(err.status, 'wrong_password', err.message, 'old_password')
  }

  async function register(input: RegisterInput): Promise<User> {
    const body: RegisterInput = {
      username: normalizeUsername(input.username),
      email: input.email.trim(),
      password: input.password,
    }
    const nickname = input.nickname?.trim()
    if (nickname) body.nickname = nickname
    return authApi.register(body)
  }

  function activate(activationToken: string): Promise<User> {
    return authApi.activate(activationToken)
  }

  function resendActivation(email: string): Promise<void> {
    return authApi.resendActivation(email.trim())
  }

  return {
    token,
    expiresAt,
    user,
    sessionEnded,
    isLoggedIn,
    setSession,
    clearSession,
    handleUnauthorized,
    checkExpiry,
    login,
    logout,
    fetchMe,
    updateProfile,
    changePassword,
    register,
    activate,
    resendActivation,
  }
})
