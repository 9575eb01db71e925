// The dashboard's build: served by the API's own server, the page at `/` and its assets under
// /static/dashboard/. File names carry no content hash and the output is the same on every
// build, so the committed dist/ can be compared with a rebuild.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: '/static/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: 'assets/dashboard.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
