// Image uploads: POST /api/v1/uploads/images (multipart field `file`) → 201
// {url, thumb_url, width, height}. XMLHttpRequest rather than fetch, for upload progress.
import { ApiError, apiUrl, currentToken, errorFrom, sessionEnded } from './client'
import type { ImageContent } from './types'

export interface UploadHandle {
  promise: Promise<ImageContent>
  abort: () => void
}

/** Largest file the app tries to send (the server has its own limit and says 413). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024

export function uploadImage(file: Blob, onProgress?: (fraction: number) => void, name = 'image'): UploadHandle {
  const xhr = new XMLHttpRequest()
  const promise = new Promise<ImageContent>((resolve, reject) => {
    xhr.open('POST', apiUrl('/uploads/images'))
    const token = currentToken()
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.timeout = 120_000
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress?.(Math.min(1, e.loaded / e.total))
    }
    xhr.onload = () => {
      let body: unknown
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined
      } catch {
        body = xhr.responseText
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        const img = body as ImageContent
        if (img && typeof img.url === 'string') {
          onProgress?.(1)
          resolve({ url: img.url, thumb_url: img.thumb_url || img.url, width: img.width || 0, height: img.height || 0 })
        } else reject(new ApiError(xhr.status, 'internal', 'unexpected upload answer'))
        return
      }
      if (xhr.status === 401 && token) sessionEnded()
      reject(errorFrom(xhr.status, body))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'upload failed'))
    xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'upload timed out'))
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'upload cancelled'))
    const form = new FormData()
    const fileName = file instanceof File && file.name ? file.name : name
    form.append('file', file, fileName)
    xhr.send(form)
  })
  return { promise, abort: () => xhr.abort() }
}
