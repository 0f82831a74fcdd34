// Other users: /api/v1/users.
import { request } from './client'
import { normalizePublicUser, type Page, type PublicUser } from './types'

/** GET /users?q= — active users whose username starts with q or nickname contains it. */
export async function searchUsers(q: string, limit = 20): Promise<PublicUser[]> {
  const page = await request<Page<PublicUser>>('/users', { query: { q, limit } })
  return (page?.items ?? []).map(normalizePublicUser)
}

/** GET /users/:id — the public profile, with is_friend and your remark. */
export async function getUser(id: number): Promise<PublicUser> {
  return normalizePublicUser(await request<PublicUser>(`/users/${id}`))
}
