import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

// The dashboard: built into dist/ui, served by the service under /dashboard/ (src/http/dashboard.ts).
export default defineConfig({
  root: here,
  base: '/dashboard/',
  // The API's own client, from source: the dashboard and the contract cannot drift apart.
  resolve: { alias: { 'jobs-service/client': path.join(here, '..', 'src', 'client', 'index.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(here, '..', 'dist', 'ui'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 200,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:34000' } },
});
