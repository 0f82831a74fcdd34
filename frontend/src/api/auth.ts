// Sign-up and sign-in routes under /api/v1/auth.
import { request } from './client'
import { normalizeUser, unwrapUser, type LoginResult, type RegisterInput, type User } from './types'

/** POST /auth/register → 201 {user}; 409 conflict when the username or email is taken. */
export async function register(input: RegisterInput): Promise<User> {
  return unwrapUser(await request('/auth/register', { method: 'POST', body: input, auth: false }))
}

/** POST /auth/activate → 200 {user}. */
export async function activate(token: string): Promise<User> {
  return unwrapUser(await request('/auth/activate', { method: 'POST', body: { token }, auth: false }))
}

/** POST /auth/resend-activation → 202, whether or not the address exists. */
export async function resendActivation(email: string): Promise<void> {
  await request<void>('/auth/resend-activation', { method: 'POST', body: { email }, auth: false })
}

/** POST /auth/login → {token, expires_at, user}; 401 wrong credentials, 403 account_inactive. */
export async function login(login: string, password: string): Promise<LoginResult> {
  const res = await request<LoginResult>('/auth/login', { method: 'POST', body: { login, password }, auth: false })
  return { ...res, user: normalizeUser(res.user) }
}

/** POST /auth/logout → 204: the current token stops working. */
export async function logout(): Promise<void> {
  await request<void>('/auth/logout', { method: 'POST' })
}
