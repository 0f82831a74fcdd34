// Times as a chat app shows them: in the list (12:30, Yesterday, Tuesday, 2025/3/4) and
// as separators in a conversation (Today, Yesterday, 4 March 2025).
import { t } from '@/i18n'

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
}

/** Whole calendar days from then to now (0 = same day). */
export function daysBetween(then: Date, now: Date): number {
  return Math.round((startOfDay(now) - startOfDay(then)) / 86_400_000)
}

export function parseTime(s: string | null | undefined): Date | null {
  if (!s) return null
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? null : d
}

export function clock(d: Date, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hour12: false }).format(d)
}

/** For the conversation list: the time today, else Yesterday, a weekday this week, a date. */
export function listTime(s: string | null | undefined, locale: string, now = new Date()): string {
  const d = parseTime(s)
  if (!d) return ''
  const days = daysBetween(d, now)
  if (days <= 0) return clock(d, locale)
  if (days === 1) return t('time.yesterday')
  if (days < 7) return new Intl.DateTimeFormat(locale, { weekday: 'long' }).format(d)
  if (d.getFullYear() === now.getFullYear()) return new Intl.DateTimeFormat(locale, { month: 'numeric', day: 'numeric' }).format(d)
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'numeric', day: 'numeric' }).format(d)
}

/** Label of the day separator above a day's first message. */
export function dayLabel(d: Date, locale: string, now = new Date()): string {
  const days = daysBetween(d, now)
  if (days === 0) return t('time.today')
  if (days === 1) return t('time.yesterday')
  const opts: Intl.DateTimeFormatOptions =
    d.getFullYear() === now.getFullYear()
      ? { month: 'long', day: 'numeric', weekday: 'short' }
      : { year: 'numeric', month: 'long', day: 'numeric' }
  return new Intl.DateTimeFormat(locale, opts).format(d)
}

export function sameDay(a: Date, b: Date): boolean {
  return startOfDay(a) === startOfDay(b)
}
