import { describe, expect, it } from 'vitest'
import { isFewEmoji, isSingleEmoji, rememberEmoji, loadRecentEmoji, searchEmoji, stickerName, STICKERS } from './emoji'
import { uuid } from './id'
import { linkify, safeHref } from './linkify'
import { daysBetween, sameDay } from './time'
import { mediaUrl, normalizeServerUrl, socketUrl } from '@/config'

describe('linkify', () => {
  it('finds http(s) links and leaves the rest as text', () => {
    expect(linkify('see https://example.com/a?b=1, and http://x.cn/路径.')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', and ' },
      { kind: 'link', text: 'http://x.cn/路径', href: 'http://x.cn/%E8%B7%AF%E5%BE%84' },
      { kind: 'text', text: '.' },
    ])
  })

  it('never links other schemes, and keeps markup as plain text', () => {
    const s = '<a href="javascript:alert(1)">x</a> javascript:alert(1) data:text/html,<b> ftp://a.b'
    expect(linkify(s)).toEqual([{ kind: 'text', text: s }])
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('https://a.b/')).toBe('https://a.b/')
  })

  it('keeps a closing parenthesis that belongs to the URL', () => {
    const parts = linkify('(see https://en.wikipedia.org/wiki/Foo_(bar))')
    expect(parts[1]).toMatchObject({ kind: 'link', text: 'https://en.wikipedia.org/wiki/Foo_(bar)' })
    expect(parts[2]).toEqual({ kind: 'text', text: ')' })
  })
})

describe('emoji', () => {
  it.each([
    ['😀', true],
    ['👍🏽', true],
    ['👨‍👩‍👧', true],
    ['🇨🇳', true],
    ['1️⃣', true],
    ['❤️', true],
    ['😀😀', false],
    ['hi 😀', false],
    ['a', false],
    ['', false],
  ])('isSingleEmoji(%j) = %s', (s, want) => {
    expect(isSingleEmoji(s)).toBe(want)
  })

  it('draws up to three emoji large, not text', () => {
    expect(isFewEmoji('😀😂 👍')).toBe(true)
    expect(isFewEmoji('😀😀😀😀')).toBe(false)
    expect(isFewEmoji('ok 👍')).toBe(false)
  })

  it('searches in English and Chinese', () => {
    expect(searchEmoji('thumbs').map((e) => e.char)).toContain('👍')
    expect(searchEmoji('笑哭').map((e) => e.char)).toContain('😂')
    expect(searchEmoji('  ')).toEqual([])
  })

  it('knows the sixteen stickers', () => {
    expect(STICKERS).toHaveLength(16)
    expect(stickerName('sticker:party')).toBe('party')
    expect(stickerName('sticker:nope')).toBeNull()
    expect(stickerName('party')).toBeNull()
  })

  it('remembers recent emoji, newest first, without repeats', () => {
    localStorage.clear()
    rememberEmoji('😀')
    rememberEmoji('sticker:ok')
    rememberEmoji('😀')
    expect(loadRecentEmoji()).toEqual(['😀', 'sticker:ok'])
  })
})

describe('misc', () => {
  it('uuid is a v4 UUID', () => {
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('counts calendar days', () => {
    const now = new Date(2026, 0, 10, 0, 5)
    expect(daysBetween(new Date(2026, 0, 9, 23, 59), now)).toBe(1)
    expect(sameDay(new Date(2026, 0, 10, 0, 1), now)).toBe(true)
  })

  it('server URLs: normalized, media paths prefixed, socket derived', () => {
    expect(normalizeServerUrl(' chat.example.com/ ')).toBe('https://chat.example.com')
    expect(normalizeServerUrl('http://10.0.0.2:8080')).toBe('http://10.0.0.2:8080')
    expect(normalizeServerUrl('javascript:alert(1)')).toBeNull()
    expect(normalizeServerUrl('')).toBeNull()
    expect(mediaUrl('/uploads/a.png')).toBe('/uploads/a.png') // same origin on the web
    expect(mediaUrl('https://cdn.example/a.png')).toBe('https://cdn.example/a.png')
    expect(mediaUrl('javascript:alert(1)')).toBe('')
    expect(mediaUrl('//evil/a.png')).toBe('')
    expect(socketUrl()).toBe(`${location.origin.replace(/^http/, 'ws')}/ws`)
  })
})
