import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Conversation, Message } from '@/api/types'
import MessageListItem from './MessageListItem.vue'

const conv: Conversation = { id: 1, type: 'private', last_message: null, last_seq: 1, read_seq: 0, unread: 0, updated_at: '' }

function msg(kind: string, content: Message['content']): Message {
  return { id: 1, conversation_id: 1, seq: 1, sender_id: 2, kind, content, client_msg_id: 'x', created_at: '2026-01-01T00:00:00Z' }
}

function render(m: Message) {
  return mount(MessageListItem, { props: { message: m, mine: false, conversation: conv, senderName: '小明', senderAvatar: '' } })
}

describe('MessageListItem', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('renders markup in a message as text, and links safely', () => {
    const w = render(msg('text', '<script>alert(1)</script><b>hi</b> https://example.com javascript:alert(2)'))
    const bubble = w.get('[data-testid="bubble"]')
    expect(bubble.text()).toBe('<script>alert(1)</script><b>hi</b> https://example.com javascript:alert(2)')
    expect(bubble.findAll('script, b')).toHaveLength(0)
    const links = bubble.findAll('a')
    expect(links).toHaveLength(1)
    expect(links[0]!.attributes()).toMatchObject({ href: 'https://example.com/', target: '_blank', rel: 'noopener noreferrer' })
  })

  it('draws stickers and a lone emoji large', () => {
    expect(render(msg('emoji', 'sticker:hug')).get('[data-testid="sticker"]').attributes('src')).toMatch(/stickers\/hug\.svg$/)
    expect(render(msg('emoji', '🎉')).get('[data-testid="big-emoji"]').text()).toBe('🎉')
    expect(render(msg('text', '👍👍')).find('[data-testid="big-emoji"]').exists()).toBe(true)
  })

  it('shows an image at its aspect ratio, from this server', () => {
    const w = render(msg('image', { url: '/uploads/a.jpg', thumb_url: '/uploads/t.jpg', width: 800, height: 400 }))
    const btn = w.get('[data-testid="image-message"]')
    expect(btn.attributes('style')).toContain('aspect-ratio: 800 / 400')
    expect(btn.get('img').attributes('src')).toBe('/uploads/t.jpg')
  })
})
