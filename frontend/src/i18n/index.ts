// A small i18n module: flat message dictionaries, `{name}` placeholders, a reactive
// locale. It compiles nothing at run time (no eval), so it works under a strict
// Content-Security-Policy such as the Android app's.
import { readonly, ref, type Ref } from 'vue'
import en from './en'
import zhCN, { type MessageKey } from './zh-CN'

export type { MessageKey }
export const SUPPORTED_LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof SUPPORTED_LOCALES)[number]
export type Messages = Record<MessageKey, string>
export type Params = Record<string, string | number>

/** localStorage key of the user's explicit choice. */
export const LOCALE_STORAGE_KEY = 'lechat.locale'
export const FALLBACK_LOCALE: Locale = 'en'

export const dictionaries: Record<Locale, Messages> = { 'zh-CN': zhCN, en }

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (SUPPORTED_LOCALES as readonly string[]).includes(v)
}

/** Maps a BCP 47 tag ('zh', 'zh-Hans-CN', 'en-GB') to a supported locale, or null. */
export function matchLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null
  const t = tag.toLowerCase()
  if (t === 'zh' || t.startsWith('zh-')) return 'zh-CN'
  if (t === 'en' || t.startsWith('en-')) return 'en'
  return null
}

/**
 * The locale to start with: a stored explicit choice wins; otherwise the first of the
 * browser's preferred languages that we support; otherwise English.
 */
export function detectLocale(stored: string | null | undefined, languages: readonly string[]): Locale {
  if (isLocale(stored)) return stored
  for (const lang of languages) {
    const m = matchLocale(lang)
    if (m) return m
  }
  return FALLBACK_LOCALE
}

/** Replaces each `{name}` with params.name; unknown placeholders stay as written. */
export function interpolate(text: string, params?: Params): string {
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  )
}

export interface I18nOptions {
  messages: Record<Locale, Partial<Messages>>
  locale: Locale
  fallbackLocale?: Locale
  /** Where an explicit choice is remembered; null to remember nothing. */
  storage?: Pick<Storage, 'setItem'> | null
  /** Called after every change, e.g. to set <html lang>. */
  onChange?: (locale: Locale) => void
}

export interface I18n {
  readonly locale: Readonly<Ref<Locale>>
  t: (key: MessageKey, params?: Params) => string
  has: (key: string) => key is MessageKey
  setLocale: (locale: Locale) => void
}

export function createI18n(opts: I18nOptions): I18n {
  const locale = ref<Locale>(opts.locale)
  const fallback = opts.fallbackLocale ?? FALLBACK_LOCALE

  function t(key: MessageKey, params?: Params): string {
    // Reading locale.value makes every caller in a render function reactive to it.
    const text = opts.messages[locale.value][key] ?? opts.messages[fallback][key] ?? key
    return interpolate(text, params)
  }

  function has(key: string): key is MessageKey {
    return key in opts.messages[fallback] || key in opts.messages[locale.value]
  }

  function setLocale(next: Locale): void {
    if (!isLocale(next)) return
    locale.value = next
    try {
      opts.storage?.setItem(LOCALE_STORAGE_KEY, next)
    } catch {
      // storage full or blocked: the choice lasts for this page only
    }
    opts.onChange?.(next)
  }

  opts.onChange?.(locale.value)
  return { locale: readonly(locale), t, has, setLocale }
}

function browserStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null
  }
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return []
  if (navigator.languages?.length) return navigator.languages
  return navigator.language ? [navigator.language] : []
}

function storedLocale(): string | null {
  try {
    return browserStorage()?.getItem(LOCALE_STORAGE_KEY) ?? null
  } catch {
    return null
  }
}

/** The app's one instance. */
export const i18n: I18n = createI18n({
  messages: dictionaries,
  locale: detectLocale(storedLocale(), browserLanguages()),
  storage: browserStorage(),
  onChange: (l) => {
    if (typeof document !== 'undefined') document.documentElement.lang = l
  },
})

export const t = i18n.t
export const setLocale = i18n.setLocale
export const locale = i18n.locale

/** For components: `const { t, locale, setLocale } = useI18n()`. */
export function useI18n(): I18n {
  return i18n
}
