// Turns any thrown value into a sentence for people, in the current language.
import { isApiError } from '@/api/client'
import { t, i18n } from '@/i18n'

/** A localized message for an error; unknown server codes show the server's text. */
export function errorText(err: unknown): string {
  if (isApiError(err)) {
    const key = `error.${err.code}`
    if (i18n.has(key)) return t(key)
    return t('error.unknown', { message: err.message || err.code })
  }
  const message = err instanceof Error ? err.message : String(err)
  return t('error.unknown', { message })
}

/** The message for a field-level server error: ours, plus the server's detail if any. */
export function fieldErrorText(err: unknown): string {
  if (isApiError(err) && err.message) return `${t('error.invalidField')}: ${err.message}`
  return t('error.invalidField')
}
