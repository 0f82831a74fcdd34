// One line that stands for a message in the conversation list and notifications.
import type { Message } from '@/api/types'
import { t } from '@/i18n'
import { stickerName } from './emoji'

export function messagePreview(m: Message | null | undefined): string {
  if (!m) return ''
  if (m.kind === 'image') return t('message.previewImage')
  if (m.kind === 'emoji') {
    const s = stickerName(m.content)
    if (s) return `[${t(`sticker.${s}`)}]`
  }
  if (typeof m.content === 'string') return m.content.replace(/\s+/g, ' ').trim()
  return t('message.previewUnknown')
}
