// Client-side checks that mirror the server's rules (API.md), so people see a clear
// message before a round trip. Each validator returns null when the value is fine,
// else a Problem: an i18n key plus its parameters.
import type { MessageKey, Params } from '@/i18n'

export interface Problem {
  key: MessageKey
  params?: Params
}

export const USERNAME_MIN = 3
export const USERNAME_MAX = 32
export const PASSWORD_MIN = 8
export const EMAIL_MAX = 254
/** bcrypt reads no further than 72 bytes, so the server refuses longer passwords. */
export const PASSWORD_MAX_BYTES = 72
export const NICKNAME_MAX = 32
export const SIGNATURE_MAX = 140
export const LOCATION_MAX = 64
export const AVATAR_URL_MAX = 512

const USERNAME_RE = /^[a-z0-9_]+$/
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Length in Unicode code points (an emoji such as 😀 counts once, not twice). */
export function charCount(s: string): number {
  return Array.from(s).length
}

/** Usernames are case-insensitive and stored lower-case. */
export function normalizeUsername(s: string): string {
  return s.trim().toLowerCase()
}

export function validateUsername(raw: string): Problem | null {
  const s = normalizeUsername(raw)
  if (!s) return { key: 'validation.required' }
  if (s.length < USERNAME_MIN || s.length > USERNAME_MAX) return { key: 'validation.usernameLength' }
  if (!USERNAME_RE.test(s)) return { key: 'validation.usernameChars' }
  return null
}

export function validateEmail(raw: string): Problem | null {
  const s = raw.trim()
  if (!s) return { key: 'validation.required' }
  if (s.length > EMAIL_MAX || !EMAIL_RE.test(s)) return { key: 'validation.emailInvalid' }
  return null
}

export function validatePassword(s: string): Problem | null {
  if (!s) return { key: 'validation.required' }
  if (charCount(s) < PASSWORD_MIN) return { key: 'validation.passwordShort' }
  if (new TextEncoder().encode(s).length > PASSWORD_MAX_BYTES) return { key: 'validation.passwordLong' }
  return null
}

export function validatePasswordConfirm(password: string, confirm: string): Problem | null {
  if (!confirm) return { key: 'validation.required' }
  if (password !== confirm) return { key: 'validation.passwordMismatch' }
  return null
}

export function validateRequired(s: string): Problem | null {
  return s.trim() ? null : { key: 'validation.required' }
}

export function validateMaxLength(s: string, max: number): Problem | null {
  return charCount(s) > max ? { key: 'validation.tooLong', params: { max } } : null
}

/** Today's date as 'YYYY-MM-DD' in local time. */
export function todayISO(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`
}

/** '' (not set) or a real calendar date 'YYYY-MM-DD' from 1900 until today. */
export function validateBirthday(s: string, now: Date = new Date()): Problem | null {
  if (!s) return null
  const m = DATE_RE.exec(s)
  if (!m) return { key: 'validation.birthdayInvalid' }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(Date.UTC(y, mo - 1, d))
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return { key: 'validation.birthdayInvalid' }
  }
  if (s > todayISO(now)) return { key: 'validation.birthdayFuture' }
  return null
}

/** '' (not set), a path on this server ('/uploads/…', not '//…') or an absolute http(s) URL. */
export function validateImageUrl(s: string, max = AVATAR_URL_MAX): Problem | null {
  const v = s.trim()
  if (!v) return null
  if (v.length > max) return { key: 'validation.tooLong', params: { max } }
  if (/[\s\\]/.test(v)) return { key: 'validation.urlInvalid' }
  if (v.startsWith('/') && !v.startsWith('//')) return null
  try {
    const u = new URL(v)
    if (u.protocol === 'http:' || u.protocol === 'https:') return null
  } catch {
    // not a URL
  }
  return { key: 'validation.urlInvalid' }
}

/** True when no entry of a field → problem map holds a problem. */
export function isValid(problems: Record<string, Problem | null | undefined>): boolean {
  return Object.values(problems).every((p) => !p)
}
