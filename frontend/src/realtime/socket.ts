// The app's one WebSocket (docs/protocol.md). It connects with the session token,
// pings, reconnects with exponential backoff and jitter, keeps every message.send
// until its ack (resending it with the same client_msg_id after a reconnect), and
// dispatches server frames by type. After every (re)connect it calls the onOpen
// listeners, which resync the stores by seq. Components never touch it; stores do.
import type { Message, MessageKind, ImageContent } from '@/api/types'

export interface Frame<T = unknown> {
  type: string
  id?: string
  data: T
}

export interface OutgoingMessage {
  conversation_id: number
  client_msg_id: string
  kind: MessageKind
  content: string | ImageContent
}

export type SocketStatus = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped'

/** An `error` frame's answer to a request, or a client-side failure. */
export class SocketError extends Error {
  readonly code: string
  readonly field?: string
  constructor(code: string, message: string, field?: string) {
    super(message)
    this.name = 'SocketError'
    this.code = code
    if (field) this.field = field
  }
}

/** The close code the server uses when the token was revoked (logout, password change). */
export const CLOSE_TOKEN_REVOKED = 1008

/** Errors worth sending again after a pause rather than failing the message. */
const TRANSIENT = new Set(['rate_limited', 'unavailable', 'internal', 'timeout'])

type WebSocketCtor = new (url: string) => WebSocket

export interface SocketOptions {
  /** The socket URL with the token, or null when there is no session. */
  url: () => string | null
  WebSocketImpl?: WebSocketCtor
  /** Send a ping after this long without any frame from the server. */
  pingIntervalMs?: number
  /** Give the connection up when a ping gets no answer within this. */
  pongTimeoutMs?: number
  /** A connection attempt that has not opened by then is given up. */
  connectTimeoutMs?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** ± fraction of the delay (0.5 = ±50 %). */
  jitter?: number
  random?: () => number
  /** Pause before resending a message that got a transient error. */
  retryTransientMs?: number
}

interface Pending {
  msg: OutgoingMessage
  frameId: string
  promise: Promise<Message>
  resolve: (m: Message) => void
  reject: (e: SocketError) => void
  transientRetries: number
  timer?: ReturnType<typeof setTimeout>
}

type Handler = (data: unknown, frame: Frame) => void

export class RealtimeSocket {
  private opts: Required<Omit<SocketOptions, 'WebSocketImpl'>> & { WebSocketImpl?: WebSocketCtor }
  private ws: WebSocket | null = null
  private _status: SocketStatus = 'idle'
  private attempt = 0
  private everOpened = false
  private seq = 0
  private reconnectTimer?: ReturnType<typeof setTimeout>
  private pingTimer?: ReturnType<typeof setTimeout>
  private pongTimer?: ReturnType<typeof setTimeout>
  private connectTimer?: ReturnType<typeof setTimeout>
  private readonly outbox = new Map<string, Pending>()
  private readonly handlers = new Map<string, Set<Handler>>()
  private readonly openListeners = new Set<(reconnect: boolean) => void>()
  private readonly statusListeners = new Set<(s: SocketStatus) => void>()
  private readonly closeListeners = new Set<(code: number, opened: boolean) => void>()
  /** Consecutive attempts that closed without ever opening. */
  failedAttempts = 0

  constructor(opts: SocketOptions) {
    this.opts = {
      pingIntervalMs: 20_000,
      pongTimeoutMs: 10_000,
      connectTimeoutMs: 15_000,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      jitter: 0.5,
      random: Math.random,
      retryTransientMs: 2_000,
      ...opts,
    }
  }

  /** Replaces options (the app plugs in the URL builder; tests a fake WebSocket). */
  configure(opts: Partial<SocketOptions>): void {
    this.opts = { ...this.opts, ...opts }
  }

  get status(): SocketStatus {
    return this._status
  }

  get isOpen(): boolean {
    return this._status === 'open'
  }

  /** client_msg_ids sent but not yet acked, in sending order. */
  get unacked(): string[] {
    return [...this.outbox.keys()]
  }

  on(type: string, fn: Handler): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(fn)
    return () => set.delete(fn)
  }

  /** After every successful (re)connect; `reconnect` is false for the first one. */
  onOpen(fn: (reconnect: boolean) => void): () => void {
    this.openListeners.add(fn)
    return () => this.openListeners.delete(fn)
  }

  onStatus(fn: (s: SocketStatus) => void): () => void {
    this.statusListeners.add(fn)
    return () => this.statusListeners.delete(fn)
  }

  /** Every close, with whether that connection had opened. */
  onClose(fn: (code: number, opened: boolean) => void): () => void {
    this.closeListeners.add(fn)
    return () => this.closeListeners.delete(fn)
  }

  /** Starts connecting (no-op when already running). */
  start(): void {
    if (this._status !== 'idle' && this._status !== 'stopped') return
    this.everOpened = false
    this.attempt = 0
    this.failedAttempts = 0
    this.connect()
  }

  /** Closes and stops reconnecting; unacked messages fail with code 'stopped'. */
  stop(): void {
    this.clearTimers()
    clearTimeout(this.reconnectTimer)
    const ws = this.ws
    this.ws = null
    if (ws) {
      this.detach(ws)
      try {
        ws.close(1000)
      } catch {
        // already closed
      }
    }
    for (const p of this.outbox.values()) {
      clearTimeout(p.timer)
      p.reject(new SocketError('stopped', 'the connection was stopped'))
    }
    this.outbox.clear()
    this.setStatus('stopped')
  }

  /** Connects at once if waiting for the next attempt (network back, page visible again). */
  reconnectNow(): void {
    if (this._status === 'waiting') {
      clearTimeout(this.reconnectTimer)
      this.connect()
    }
  }

  /** Fire-and-forget frame (typing, read); false when not connected. */
  send(type: string, data: unknown): boolean {
    return this.write({ type, id: this.nextId(type === 'ping' ? 'p' : 'c'), data })
  }

  /**
   * Sends a message and resolves with the stored message on `ack`. Until then it is
   * kept and resent after every reconnect with the same client_msg_id. Calling it
   * again with the same client_msg_id (a retry) sends it again and returns the same
   * promise. Rejects with SocketError on an `error` answer, or 'stopped'.
   */
  sendMessage(msg: OutgoingMessage): Promise<Message> {
    const existing = this.outbox.get(msg.client_msg_id)
    if (existing) {
      clearTimeout(existing.timer)
      this.transmit(existing)
      return existing.promise
    }
    let resolve!: (m: Message) => void
    let reject!: (e: SocketError) => void
    const promise = new Promise<Message>((res, rej) => {
      resolve = res
      reject = rej
    })
    // Nobody may be listening yet when stop() rejects it; never an unhandled rejection.
    promise.catch(() => {})
    const p: Pending = { msg, frameId: '', promise, resolve, reject, transientRetries: 0 }
    this.outbox.set(msg.client_msg_id, p)
    this.transmit(p)
    return promise
  }

  private transmit(p: Pending): void {
    p.frameId = this.nextId('m')
    this.write({ type: 'message.send', id: p.frameId, data: p.msg })
  }

  private nextId(prefix: string): string {
    this.seq += 1
    return `${prefix}-${this.seq}`
  }

  private write(frame: Frame): boolean {
    if (!this.ws || this._status !== 'open') return false
    try {
      this.ws.send(JSON.stringify(frame))
      return true
    } catch {
      return false
    }
  }

  private setStatus(s: SocketStatus): void {
    if (this._status === s) return
    this._status = s
    for (const fn of this.statusListeners) fn(s)
  }

  private connect(): void {
    const url = this.opts.url()
    if (!url) {
      this.setStatus('stopped')
      return
    }
    const Impl = this.opts.WebSocketImpl ?? (typeof WebSocket === 'undefined' ? undefined : WebSocket)
    if (!Impl) {
      this.setStatus('stopped')
      return
    }
    this.setStatus('connecting')
    let ws: WebSocket
    try {
      ws = new Impl(url)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    let opened = false
    ws.onopen = () => {
      if (this.ws !== ws) return
      opened = true
      clearTimeout(this.connectTimer)
      this.attempt = 0
      this.failedAttempts = 0
      const reconnect = this.everOpened
      this.everOpened = true
      this.setStatus('open')
      this.armPing()
      // Resend in the order they were first sent.
      for (const p of this.outbox.values()) {
        clearTimeout(p.timer)
        this.transmit(p)
      }
      for (const fn of this.openListeners) fn(reconnect)
    }
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return
      this.armPing()
      this.received(ev.data)
    }
    ws.onerror = () => {
      // a close event follows
    }
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return
      this.lost(ws, ev.code, opened)
    }
    clearTimeout(this.connectTimer)
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && !opened) this.lost(ws, 4000, false)
    }, this.opts.connectTimeoutMs)
  }

  /** The connection is gone: tell listeners, then reconnect unless the token was revoked. */
  private lost(ws: WebSocket, code: number, opened: boolean): void {
    this.detach(ws)
    this.ws = null
    this.clearTimers()
    try {
      ws.close()
    } catch {
      // already closed
    }
    if (!opened) this.failedAttempts += 1
    for (const fn of this.closeListeners) fn(code, opened)
    if (this._status === 'stopped') return
    if (code === CLOSE_TOKEN_REVOKED) {
      this.stop()
      return
    }
    this.scheduleReconnect()
  }

  private detach(ws: WebSocket): void {
    ws.onopen = null
    ws.onmessage = null
    ws.onerror = null
    ws.onclose = null
  }

  /** Delay before attempt n: base·2ⁿ capped at max, ± jitter. */
  backoffDelay(attempt: number): number {
    const { backoffBaseMs, backoffMaxMs, jitter, random } = this.opts
    const raw = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt, 30))
    return Math.max(0, Math.round(raw * (1 + jitter * (2 * random() - 1))))
  }

  private scheduleReconnect(): void {
    const delay = this.backoffDelay(this.attempt)
    this.attempt += 1
    this.setStatus('waiting')
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = setTimeout(() => this.connect(), delay)
  }

  private clearTimers(): void {
    clearTimeout(this.pingTimer)
    clearTimeout(this.pongTimer)
    clearTimeout(this.connectTimer)
  }

  /** Any frame from the server proves the link; after a quiet interval, ping. */
  private armPing(): void {
    clearTimeout(this.pingTimer)
    clearTimeout(this.pongTimer)
    const ws = this.ws
    this.pingTimer = setTimeout(() => {
      if (this.ws !== ws || !ws) return
      this.send('ping', {})
      this.pongTimer = setTimeout(() => {
        if (this.ws === ws) this.lost(ws, 4001, true)
      }, this.opts.pongTimeoutMs)
    }, this.opts.pingIntervalMs)
  }

  private received(raw: unknown): void {
    if (typeof raw !== 'string') return
    let frame: Frame
    try {
      frame = JSON.parse(raw) as Frame
    } catch {
      return
    }
    if (!frame || typeof frame.type !== 'string') return
    if (frame.type === 'ack') this.acked(frame as Frame<{ message?: Message }>)
    else if (frame.type === 'error' && frame.id) this.failed(frame as Frame<{ code?: string; message?: string; field?: string }>)
    const set = this.handlers.get(frame.type)
    if (set) for (const fn of [...set]) fn(frame.data, frame)
  }

  private acked(frame: Frame<{ message?: Message }>): void {
    const m = frame.data?.message
    let p = m?.client_msg_id ? this.outbox.get(m.client_msg_id) : undefined
    if (!p && frame.id) p = [...this.outbox.values()].find((x) => x.frameId === frame.id)
    if (!p || !m) return
    clearTimeout(p.timer)
    this.outbox.delete(p.msg.client_msg_id)
    p.resolve(m)
  }

  private failed(frame: Frame<{ code?: string; message?: string; field?: string }>): void {
    const p = [...this.outbox.values()].find((x) => x.frameId === frame.id)
    if (!p) return
    const code = frame.data?.code || 'internal'
    if (TRANSIENT.has(code) && p.transientRetries < 5) {
      p.transientRetries += 1
      clearTimeout(p.timer)
      p.timer = setTimeout(() => {
        if (this.outbox.get(p.msg.client_msg_id) === p) this.transmit(p)
      }, this.opts.retryTransientMs * p.transientRetries)
      return
    }
    this.outbox.delete(p.msg.client_msg_id)
    p.reject(new SocketError(code, frame.data?.message || code, frame.data?.field))
  }
}

/** The app's one socket; main.ts plugs in the URL (server + token). */
export const socket = new RealtimeSocket({ url: () => null })
