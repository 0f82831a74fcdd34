// Splits message text into plain text and http(s) links. The view renders each part
// as a text node or an <a>, never as HTML, so markup in a message shows as characters.
export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi
const TRAILING = /[.,;:!?)\]}'"。，；：！？）】」』]+$/

/** Returns the safe href of a link text, or null unless it is an http(s) URL. */
export function safeHref(raw: string): string | null {
  try {
    const u = new URL(raw)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
    return u.href
  } catch {
    return null
  }
}

export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = []
  let last = 0
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0]
    const start = m.index ?? 0
    // Leave trailing punctuation out, but keep a ')' that closes one in the URL.
    const trail = TRAILING.exec(url)
    if (trail) {
      let cut = trail[0]
      if (cut.startsWith(')') && url.slice(0, -cut.length).includes('(')) cut = cut.slice(1)
      url = url.slice(0, url.length - cut.length)
    }
    const href = url ? safeHref(url) : null
    if (!href) continue
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) })
    parts.push({ kind: 'link', text: url, href })
    last = start + url.length
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) })
  return parts
}
