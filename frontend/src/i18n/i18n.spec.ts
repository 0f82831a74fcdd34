import { describe, expect, it, vi } from 'vitest'
import en from './en'
import {
  LOCALE_STORAGE_KEY,
  createI18n,
  detectLocale,
  dictionaries,
  i18n,
  interpolate,
  matchLocale,
  type Messages,
} from './index'
import zhCN from './zh-CN'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('locale detection', () => {
  it.each([
    [null, ['zh-CN', 'en'], 'zh-CN'],
    [null, ['zh'], 'zh-CN'],
    [null, ['zh-TW'], 'zh-CN'],
    [null, ['zh-Hans-CN', 'en-US'], 'zh-CN'],
    [null, ['en-US', 'zh-CN'], 'en'],
    [null, ['fr-FR', 'zh-CN', 'en'], 'zh-CN'],
    [null, ['fr-FR', 'de'], 'en'],
    [null, [], 'en'],
    ['en', ['zh-CN'], 'en'],
    ['zh-CN', ['en-US'], 'zh-CN'],
    ['klingon', ['zh-CN'], 'zh-CN'],
  ] as const)('stored %s, languages %j → %s', (stored, langs, want) => {
    expect(detectLocale(stored, langs)).toBe(want)
  })

  it('matches tags case-insensitively and ignores others', () => {
    expect(matchLocale('ZH-cn')).toBe('zh-CN')
    expect(matchLocale('EN-gb')).toBe('en')
    expect(matchLocale('eng')).toBeNull()
    expect(matchLocale('')).toBeNull()
  })
})

describe('translation', () => {
  it('interpolates named parameters and leaves unknown ones', () => {
    expect(interpolate('Hi {name}, {n} new', { name: '小明', n: 3 })).toBe('Hi 小明, 3 new')
    expect(interpolate('Hi {name}', {})).toBe('Hi {name}')
    expect(interpolate('Hi {name}')).toBe('Hi {name}')
  })

  it('falls back to English, then to the key', () => {
    const partialZh = { 'login.title': '登录乐聊' } as Partial<Messages>
    const partialEn = { 'login.title': 'Sign in', 'login.subtitle': 'Welcome back' } as Partial<Messages>
    const i = createI18n({ messages: { 'zh-CN': partialZh, en: partialEn }, locale: 'zh-CN', storage: null })
    expect(i.t('login.title')).toBe('登录乐聊')
    expect(i.t('login.subtitle')).toBe('Welcome back')
    expect(i.t('login.submit')).toBe('login.submit')
  })

  it('switches language, remembers the choice and tells the listener', () => {
    const storage = { setItem: vi.fn() }
    const onChange = vi.fn()
    const i = createI18n({ messages: dictionaries, locale: 'zh-CN', storage, onChange })
    expect(i.t('login.submit')).toBe('登录')
    i.setLocale('en')
    expect(i.locale.value).toBe('en')
    expect(i.t('login.submit')).toBe('Sign in')
    expect(storage.setItem).toHaveBeenCalledWith(LOCALE_STORAGE_KEY, 'en')
    expect(onChange).toHaveBeenLastCalledWith('en')
  })

  it('the app instance persists to localStorage and sets <html lang>', () => {
    const before = i18n.locale.value
    i18n.setLocale('en')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('en')
    expect(document.documentElement.lang).toBe('en')
    i18n.setLocale('zh-CN')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(i18n.t('register.doneBody', { email: 'a@b.c' })).toContain('a@b.c')
    i18n.setLocale(before)
  })

  it('has checks for known keys', () => {
    expect(i18n.has('error.conflict')).toBe(true)
    expect(i18n.has('error.no_such_code')).toBe(false)
  })
})

describe('dictionaries', () => {
  const zhKeys = Object.keys(zhCN).sort()
  const enKeys = Object.keys(en).sort()

  it('zh-CN and en have exactly the same keys', () => {
    expect(enKeys).toEqual(zhKeys)
  })

  it.each(zhKeys)('%s is non-empty in both and uses the same placeholders', (key) => {
    const k = key as keyof typeof zhCN
    expect(zhCN[k].trim()).not.toBe('')
    expect(en[k].trim()).not.toBe('')
    expect(placeholders(en[k])).toEqual(placeholders(zhCN[k]))
  })

  it('has a message for every error code of the API contract', () => {
    for (const code of [
      'invalid_request',
      'unauthorized',
      'forbidden',
      'not_found',
      'conflict',
      'account_inactive',
      'rate_limited',
      'payload_too_large',
      'unsupported_media_type',
      'unavailable',
      'internal',
      'network_error',
      'timeout',
    ]) {
      expect(i18n.has(`error.${code}`), code).toBe(true)
    }
  })
})
