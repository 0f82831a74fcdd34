// Wire types of the REST API (see shared/API.md). Fields are snake_case as sent.

export type Gender = '' | 'male' | 'female' | 'other'

/** The signed-in user's own account, from /me, login, register and activate. */
export interface User {
  id: number
  username: string
  email: string
  nickname: string
  avatar_url: string
  signature: string
  gender: Gender
  /** 'YYYY-MM-DD' or ''. */
  birthday: string
  location: string
  activated: boolean
  created_at: string
}

export interface LoginResult {
  token: string
  expires_at: string
  user: User
}

export interface RegisterInput {
  username: string
  email: string
  password: string
  nickname?: string
}

/** Fields PATCH /me accepts; absent ones stay unchanged. */
export interface ProfilePatch {
  nickname?: string
  signature?: string
  gender?: Gender
  birthday?: string
  location?: string
  avatar_url?: string
}

/** Fills absent or null string fields and cuts a birthday sent as a full time to its date. */
export function normalizeUser(raw: User): User {
  const u = raw as unknown as Record<string, unknown>
  const str = (k: string) => (typeof u[k] === 'string' ? (u[k] as string) : '')
  const birthday = str('birthday')
  return {
    ...raw,
    username: str('username'),
    email: str('email'),
    nickname: str('nickname'),
    avatar_url: str('avatar_url'),
    signature: str('signature'),
    gender: str('gender') as Gender,
    birthday: /^\d{4}-\d{2}-\d{2}/.test(birthday) ? birthday.slice(0, 10) : '',
    location: str('location'),
    activated: u.activated === true,
    created_at: str('created_at'),
  }
}

/** Accepts a user sent bare or under "user" (the contract wraps it for some routes). */
export function unwrapUser(body: unknown): User {
  const b = body as { user?: User } | User
  const user = b && typeof b === 'object' && 'user' in b && b.user && typeof b.user === 'object' ? b.user : (b as User)
  return normalizeUser(user)
}
