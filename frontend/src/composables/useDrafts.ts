// Unsent text per conversation, kept while the app runs (switching chats keeps it).
const drafts = new Map<number, string>()

export function useDrafts() {
  return {
    get: (convId: number) => drafts.get(convId) ?? '',
    set: (convId: number, text: string) => (text ? drafts.set(convId, text) : drafts.delete(convId)),
  }
}
