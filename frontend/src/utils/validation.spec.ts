import { describe, expect, it } from 'vitest'
import {
  charCount,
  isValid,
  normalizeUsername,
  todayISO,
  validateBirthday,
  validateEmail,
  validateImageUrl,
  validateMaxLength,
  validatePassword,
  validatePasswordConfirm,
  validateRequired,
  validateUsername,
} from './validation'

const key = (p: { key: string } | null) => p?.key ?? null

describe('username', () => {
  it.each([
    ['xiaoming', null],
    ['XiaoMing_01', null], // lower-cased before checking
    ['  abc  ', null],
    ['abc', null],
    ['a'.repeat(32), null],
    ['', 'validation.required'],
    ['   ', 'validation.required'],
    ['ab', 'validation.usernameLength'],
    ['a'.repeat(33), 'validation.usernameLength'],
    ['xiao ming', 'validation.usernameChars'],
    ['xiao-ming', 'validation.usernameChars'],
    ['小明小明', 'validation.usernameChars'],
    ['user@mail', 'validation.usernameChars'],
  ])('%j → %s', (v, want) => {
    expect(key(validateUsername(v))).toBe(want)
  })

  it('normalizes to trimmed lower case', () => {
    expect(normalizeUsername('  XiaoMing_01 ')).toBe('xiaoming_01')
  })
})

describe('email', () => {
  it.each([
    ['a@b.co', null],
    [' xm@example.com ', null],
    ['', 'validation.required'],
    ['no-at.example.com', 'validation.emailInvalid'],
    ['a@b', 'validation.emailInvalid'],
    ['a b@c.de', 'validation.emailInvalid'],
    [`${'a'.repeat(250)}@b.cd`, 'validation.emailInvalid'],
  ])('%j → %s', (v, want) => {
    expect(key(validateEmail(v))).toBe(want)
  })
})

describe('password', () => {
  it.each([
    ['12345678', null],
    ['密码密码密码密码', null],
    ['', 'validation.required'],
    ['1234567', 'validation.passwordShort'],
    ['😀😀😀😀', 'validation.passwordShort'], // 4 characters, 8 UTF-16 units
    ['a'.repeat(72), null],
    ['a'.repeat(73), 'validation.passwordLong'],
    ['密'.repeat(25), 'validation.passwordLong'], // 75 bytes in UTF-8
  ])('%j → %s', (v, want) => {
    expect(key(validatePassword(v))).toBe(want)
  })

  it('confirmation must match', () => {
    expect(validatePasswordConfirm('secret123', 'secret123')).toBeNull()
    expect(key(validatePasswordConfirm('secret123', 'secret124'))).toBe('validation.passwordMismatch')
    expect(key(validatePasswordConfirm('secret123', ''))).toBe('validation.required')
  })
})

describe('lengths', () => {
  it('counts code points, so emoji and CJK count once each', () => {
    expect(charCount('小明 👨‍👩‍👧 🇨🇳')).toBe(11)
    expect(charCount('😀')).toBe(1)
    expect(validateMaxLength('😀😀', 2)).toBeNull()
    expect(validateMaxLength('😀😀😀', 2)).toEqual({ key: 'validation.tooLong', params: { max: 2 } })
  })

  it('required ignores blanks', () => {
    expect(validateRequired(' x ')).toBeNull()
    expect(key(validateRequired('  '))).toBe('validation.required')
  })
})

describe('birthday', () => {
  const now = new Date(2025, 5, 15) // 15 June 2025, local time
  it.each([
    ['', null],
    ['2000-02-29', null],
    ['2025-06-15', null],
    ['1900-01-01', null],
    ['2025-06-16', 'validation.birthdayFuture'],
    ['2001-02-29', 'validation.birthdayInvalid'],
    ['2000-13-01', 'validation.birthdayInvalid'],
    ['1899-12-31', 'validation.birthdayInvalid'],
    ['2000/01/01', 'validation.birthdayInvalid'],
    ['2000-1-1', 'validation.birthdayInvalid'],
  ])('%j → %s', (v, want) => {
    expect(key(validateBirthday(v, now))).toBe(want)
  })

  it('todayISO pads month and day', () => {
    expect(todayISO(new Date(2025, 0, 5))).toBe('2025-01-05')
  })
})

describe('avatar URL', () => {
  it.each([
    ['', null],
    ['https://example.com/a.png', null],
    ['http://127.0.0.1:8080/uploads/x.jpg', null],
    ['/uploads/2025/ab.png', null],
    ['//evil.example/a.png', 'validation.urlInvalid'],
    ['https://e.com/a b.png', 'validation.urlInvalid'],
    ['javascript:alert(1)', 'validation.urlInvalid'],
    ['ftp://example.com/a.png', 'validation.urlInvalid'],
    ['not a url', 'validation.urlInvalid'],
    [`https://e.com/${'a'.repeat(600)}`, 'validation.tooLong'],
  ])('%j → %s', (v, want) => {
    expect(key(validateImageUrl(v))).toBe(want)
  })
})

describe('isValid', () => {
  it('is true only when no field has a problem', () => {
    expect(isValid({ a: null, b: undefined })).toBe(true)
    expect(isValid({ a: null, b: { key: 'validation.required' } })).toBe(false)
  })
})
