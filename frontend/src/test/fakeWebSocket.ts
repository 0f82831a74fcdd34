// Test helper: a WebSocket stand-in that a test opens, closes and answers by hand.
import type { Frame } from '@/realtime/socket'

export class FakeWebSocket {
  static all: FakeWebSocket[] = []
  static last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1]!
  }
  url: string
  sent: Frame[] = []
  closed = false
  onopen: (() => void) | null = null
  onmessage: ((ev: { data: string }) => void) | null = null
  onerror: (() => void) | null = null
  onclose: ((ev: { code: number }) => void) | null = null
  constructor(url: string) {
    this.url = url
    FakeWebSocket.all.push(this)
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }
  close(): void {
    this.closed = true
  }
  // test side
  open(): void {
    this.onopen?.()
  }
  drop(code = 1006): void {
    this.closed = true
    this.onclose?.({ code })
  }
  push(frame: Frame): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  ofType(type: string): Frame[] {
    return this.sent.filter((f) => f.type === type)
  }
}

