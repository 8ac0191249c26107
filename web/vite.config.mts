import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The dashboard: built into dist/web, served by the gateway at / (hashed, immutable assets). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    // Never emptied: a gateway still running from dist/ keeps serving its files (scripts/start.js).
    emptyOutDir: false,
    assetsDir: 'assets',
    target: 'es2022',
    // No inline scripts or styles (CSP script-src 'self'): everything in files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
