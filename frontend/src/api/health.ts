// GET /healthz of a server (not under /api/v1): whether a LeChat server answers there.
export async function checkServer(base: string, timeoutMs = 8_000): Promise<boolean> {
  const ctrl = new AbortController()
  const timer = setTimeout(() => ctrl.abort(), timeoutMs)
  try {
    const res = await fetch(`${base}/healthz`, { signal: ctrl.signal })
    if (!res.ok) return false
    const body = (await res.json().catch(() => null)) as { status?: string } | null
    return body?.status === 'ok'
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
