import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The mail window (renderer/). Built to dist/renderer, which the HISP bridge serves in
// browser mode and Electron serves under its own sealpost://app/ protocol
// (electron/main/appProtocol.ts): relative asset paths (base './'), no inline scripts (the
// page's CSP allows scripts from 'self' only).
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // Never inline assets as data: URLs into scripts or styles; keep every file external.
    assetsInlineLimit: 0,
    // No source maps in the shipped window: they would reveal nothing secret, but they are
    // not needed at run time either.
    sourcemap: false,
  },
});
