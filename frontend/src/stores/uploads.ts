// Pictures that are not messages: the own avatar and group avatars.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { uploadImage, MAX_IMAGE_BYTES } from '@/api/uploads'
import { ApiError } from '@/api/client'
import type { ImageContent } from '@/api/types'

export const useUploadsStore = defineStore('uploads', () => {
  /** Progress 0..1 of the running upload, or null. */
  const progress = ref<number | null>(null)

  /** Uploads one image; throws ApiError (payload_too_large, unsupported_media_type…). */
  async function uploadPicture(file: Blob): Promise<ImageContent> {
    if (file.size > MAX_IMAGE_BYTES) throw new ApiError(413, 'payload_too_large', 'image too large')
    progress.value = 0
    try {
      return await uploadImage(file, (f) => (progress.value = f)).promise
    } finally {
      progress.value = null
    }
  }

  return { progress, uploadPicture }
})
