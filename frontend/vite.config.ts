/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The Go server the dev server forwards API, socket and health calls to.
const backend = process.env.LECHAT_DEV_BACKEND || 'http://localhost:8080'

export default defineConfig(({ mode }) => ({
  // The Cordova build loads from the app's files, so it needs relative asset paths.
  base: mode === 'cordova' ? './' : '/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    // The Go binary embeds frontend/dist; dist/unbuilt.html is committed and must
    // survive builds, so only dist/app is emptied.
    outDir: 'dist/app',
    emptyOutDir: true,
    rolldownOptions: {
      output: {
        // Vue, Pinia and the router in one long-cached chunk.
        codeSplitting: { groups: [{ name: 'vendor', test: /node_modules/ }] },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: true },
      '/ws': { target: backend, changeOrigin: true, ws: true },
      '/healthz': { target: backend, changeOrigin: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.spec.ts'],
    restoreMocks: true,
  },
}))
