import { defineConfig } from 'vitest/config';

// Unit tests: pure logic and in-process servers on loopback, fast.
// Integration tests: real peers (Dovecot, knot, slapd, gnome-keyring, OpenSSL) started by
// test/services on random loopback ports in temp dirs, stopped by PID.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Services are cheap to start, but two cores: keep suites from fighting.
          maxWorkers: 2,
        },
      },
    ],
  },
});
