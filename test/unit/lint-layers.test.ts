/**
 * The dependency arrows of DESIGN.md §1 are lint errors. These tests lint small probe files
 * placed in each layer, through the project's own ESLint configuration, and prove that each
 * forbidden import fails and each allowed one passes.
 */
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const eslint = new ESLint({ cwd: root });
const written: string[] = [];

afterAll(async () => {
  await Promise.all(written.map((file) => rm(file, { force: true })));
});

/** Lints `source` as if it were the file at `path` (written there briefly, so type-aware rules see it). */
async function lint(path: string, source: string): Promise<string[]> {
  const file = join(root, path);
  written.push(file);
  await writeFile(file, source);
  const [result] = await eslint.lintFiles([file]);
  await rm(file, { force: true });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const restricted = (messages: string[]) =>
  messages.filter((m) => m.includes('no-restricted-imports'));

describe('layer arrows are lint errors', () => {
  it('renderer/ importing node:fs fails lint', async () => {
    const messages = await lint(
      'renderer/src/__layer_probe_fs.ts',
      "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n",
    );
    expect(restricted(messages)).toHaveLength(1);
    expect(messages[0]).toContain('no Node.js');
  });

  it('renderer/ importing a Node builtin without the node: prefix, Electron, or HISP internals fails lint', async () => {
    const messages = await lint(
      'renderer/src/__layer_probe_mix.ts',
      [
        "import path from 'path';",
        "import { app } from 'electron';",
        "import { Bridge } from '../../hisp/host/bridge.js';",
        'export const probe = [path, app, Bridge];',
        '',
      ].join('\n'),
    );
    expect(restricted(messages)).toHaveLength(3);
  });

  it('renderer/ may import the API contract', async () => {
    const messages = await lint(
      'renderer/src/__layer_probe_ok.ts',
      "import { HispClient, type Status } from '../../hisp/api/index.js';\nexport const probe: [typeof HispClient, Status | undefined] = [HispClient, undefined];\n",
    );
    expect(messages).toEqual([]);
  });

  it('hisp/ importing Electron, React or the renderer fails lint', async () => {
    const messages = await lint(
      'hisp/host/__layer_probe.ts',
      [
        "import { app } from 'electron';",
        "import { useState } from 'react';",
        "import * as ui from '../../renderer/src/main.js';",
        'export const probe = [app, useState, ui];',
        '',
      ].join('\n'),
    );
    expect(restricted(messages)).toHaveLength(3);
  });

  it('hisp/api importing Node or the rest of the HISP fails lint', async () => {
    const messages = await lint(
      'hisp/api/__layer_probe.ts',
      "import { createHash } from 'node:crypto';\nimport type { Logger } from '../log/logger.js';\nexport const probe = createHash;\nexport type P = Logger;\n",
    );
    expect(restricted(messages).length).toBeGreaterThanOrEqual(2);
    expect(messages.join('\n')).toContain('hisp/api imports nothing outside hisp/api');
  });

  it('the preload importing anything but contextBridge, ipcRenderer and the contract fails lint', async () => {
    const messages = await lint(
      'electron/preload/__layer_probe.ts',
      [
        "import { contextBridge, ipcRenderer, shell } from 'electron';",
        "import { readFileSync } from 'node:fs';",
        "import { HispClient } from '../../hisp/api/index.js';",
        'export const probe = [contextBridge, ipcRenderer, shell, readFileSync, HispClient];',
        '',
      ].join('\n'),
    );
    expect(restricted(messages)).toHaveLength(2);
    expect(messages.join('\n')).toMatch(/'shell' import from 'electron' is restricted/);
  });

  it('floating promises and focused tests fail lint', async () => {
    const floating = await lint(
      'hisp/host/__layer_probe_promise.ts',
      'async function work(): Promise<void> {}\nexport function probe(): void {\n  work();\n}\n',
    );
    expect(floating.join('\n')).toContain('no-floating-promises');
    const focused = await lint(
      'test/unit/__layer_probe.test.ts',
      "import { it } from 'vitest';\nit.only('a', () => undefined);\nit.skip('b', () => undefined);\n",
    );
    expect(focused.filter((m) => m.startsWith('no-restricted-syntax'))).toHaveLength(2);
  });
});
