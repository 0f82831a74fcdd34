// The signed-in user's own account: /api/v1/me.
import { request } from './client'
import { unwrapUser, type ProfilePatch, type User } from './types'

/** GET /me. */
export async function getMe(): Promise<User> {
  return unwrapUser(await request('/me'))
}

/** PATCH /me → the updated user. */
export async function updateMe(patch: ProfilePatch): Promise<User> {
  return unwrapUser(await request('/me', { method: 'PATCH', body: patch }))
}

/** PUT /me/password → 204; the server signs out every other token of the user. */
export async function changePassword(oldPassword: string, newPassword: string): Promise<void> {
  await request<void>('/me/password', {
    method: 'PUT',
    body: { old_password: oldPassword, new_password: newPassword },
    // a 401 here may mean a wrong old password; the store checks the session itself
    endSessionOn401: false,
  })
}
