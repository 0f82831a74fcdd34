// The Android app's server setting (config.ts keeps it); this checks a candidate.
import { defineStore } from 'pinia'
import { checkServer } from '@/api/health'

export const useServerStore = defineStore('server', () => {
  /** True when a LeChat server answers /healthz at base. */
  function check(base: string): Promise<boolean> {
    return checkServer(base)
  }
  return { check }
})
