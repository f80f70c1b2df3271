import { existsSync } from 'node:fs';

import { defineConfig, devices } from '@playwright/test';

// End-to-end tests: the real UI (dist/renderer, built by `npm run build`) in Debian's
// Chromium, driven by Playwright, against a real HISP started by each spec through the real
// CLI (`node bin/sealpost.js serve`). Playwright's own browser downloads are never used.
/** Debian's Chromium, which the e2e tests and the UI benchmark (test/bench/ui.ts) drive. */
export const CHROMIUM = '/usr/bin/chromium';
/** How Chromium is launched, here and in the UI benchmark. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `The e2e tests need Chromium at ${CHROMIUM}, which is missing. Install the Debian package ` +
      '"chromium" (sudo apt-get install -y --no-install-recommends chromium). ' +
      "Do not run 'npx playwright install': its downloads are not used here.",
  );
}

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/',
  // Each spec starts its own HISP; two cores, so keep it to one browser at a time.
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: 'list',
  timeout: 30_000,
  use: {
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: CHROMIUM,
          args: [...CHROMIUM_ARGS],
        },
      },
    },
  ],
});
