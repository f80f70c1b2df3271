/**
 * The packaging configuration, checked here without downloading anything: electron-builder's
 * own schema validation (it runs offline: the schema ships in app-builder-lib) over
 * build/electron-builder.yml, the settings Sealpost relies on (targets, per-machine installs,
 * hardened runtime, the fuse hook), the macOS entitlements, and the afterPack hook itself run
 * against files laid out like each platform's Electron binary, its fuses read back with
 * @electron/fuses.
 */
import { getCurrentFuseWire, FuseState, FuseV1Options } from '@electron/fuses';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = 'build/electron-builder.yml';

/** app-builder-lib's configuration loader and validator, as electron-builder itself uses them. */
interface ConfigApi {
  getConfig(projectDir: string, configPath: string | null): Promise<BuilderConfig>;
  validateConfiguration(config: BuilderConfig, debugLogger: unknown): Promise<void>;
}
type BuilderConfig = Record<string, unknown>;

// Resolved from electron-builder's own dependency, so it is the validator electron-builder runs.
const requireFromBuilder = createRequire(
  createRequire(import.meta.url).resolve('electron-builder'),
);
const configApi = requireFromBuilder('app-builder-lib/out/util/config/config.js') as ConfigApi;
const { DebugLogger } = requireFromBuilder('builder-util') as {
  DebugLogger: new (enabled?: boolean) => unknown;
};

interface HookContext {
  appOutDir: string;
  electronPlatformName: string;
  arch?: number;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}
interface AfterPackModule {
  afterPack: (context: HookContext) => Promise<void>;
  fuseTarget: (context: HookContext) => string;
  FUSE_SETTINGS: Readonly<Record<string, boolean>>;
  default: unknown;
}

let config: BuilderConfig;
let hook: AfterPackModule;
let work: string;

beforeAll(async () => {
  config = await configApi.getConfig(repoRoot, join(repoRoot, CONFIG));
  hook = (await import(
    /* @vite-ignore */ join(repoRoot, 'build', 'afterPack.mjs')
  )) as AfterPackModule;
  work = await mkdtemp(join(tmpdir(), 'sealpost-packaging-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const section = (name: string): Record<string, unknown> => {
  const value = config[name];
  if (typeof value !== 'object' || value === null) throw new Error(`${name} is missing`);
  return value as Record<string, unknown>;
};
const targetNames = (name: string): string[] =>
  (section(name)['target'] as (string | { target: string })[]).map((target) =>
    typeof target === 'string' ? target : target.target,
  );

describe('electron-builder configuration', () => {
  it("passes electron-builder's own schema validation", async () => {
    await expect(
      configApi.validateConfiguration(config, new DebugLogger(false)),
    ).resolves.toBeUndefined();
  });

  it('the validation really runs here: a misspelt option is refused', async () => {
    const misspelt = { ...config, nsis: { ...section('nsis'), perMachin: true } };
    await expect(configApi.validateConfiguration(misspelt, new DebugLogger(false))).rejects.toThrow(
      /configuration\.nsis should be/,
    );
  });

  it('builds AppImage, deb and rpm; NSIS and MSI; dmg', () => {
    expect(targetNames('linux')).toEqual(['AppImage', 'deb', 'rpm']);
    expect(targetNames('win')).toEqual(['nsis', 'msi']);
    expect(targetNames('mac')).toEqual(['dmg']);
  });

  it('installs per machine on Windows with a wizard (no one-click), and keeps user data on uninstall', () => {
    expect(section('nsis')).toMatchObject({
      oneClick: false,
      perMachine: true,
      deleteAppDataOnUninstall: false,
    });
    expect(section('msi')).toMatchObject({ oneClick: false, perMachine: true });
    expect(section('msi')['upgradeCode']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('signs macOS with the hardened runtime and the entitlements in build/', async () => {
    const mac = section('mac');
    expect(mac['hardenedRuntime']).toBe(true);
    expect(mac['entitlements']).toBe('build/entitlements.mac.plist');
    expect(mac['entitlementsInherit']).toBe('build/entitlements.mac.plist');
    const plist = await readFile(join(repoRoot, 'build', 'entitlements.mac.plist'), 'utf8');
    const keys = [...plist.matchAll(/<key>([^<]+)<\/key>\s*<(true|false)\/>/g)].map(
      ([, key, value]) => `${key}=${value}`,
    );
    // Only JIT (V8 needs it); nothing that weakens the hardened runtime further.
    expect(keys).toEqual(['com.apple.security.cs.allow-jit=true']);
  });

  it('holds no signing secret: certificates and passwords come from the environment', async () => {
    const text = await readFile(join(repoRoot, CONFIG), 'utf8');
    expect(text).not.toMatch(
      /^\s*(certificateFile|certificatePassword|cscLink|cscKeyPassword)\s*:/m,
    );
    expect(JSON.stringify(config)).not.toMatch(/password"\s*:/i);
  });

  it('packs only the built app into an asar, native modules unpacked, no update feed', () => {
    // electron-builder's loader turns the list into one file set.
    expect(config['files']).toEqual([
      {
        filter: [
          'dist/electron/**',
          'dist/hisp/**',
          'dist/renderer/**',
          'package.json',
          '!**/*.map',
        ],
      },
    ]);
    expect(config['asar']).toBe(true);
    expect(config['asarUnpack']).toEqual(['**/*.node']);
    expect(config['publish']).toBeNull();
    expect(config['afterPack']).toBe('./build/afterPack.mjs');
  });

  it("the app's entry point is the built main process", async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      main?: string;
    };
    expect(pkg.main).toBe('dist/electron/main.js');
  });
});

/** A file laid out like an Electron binary: some bytes, the fuse sentinel, a wire of 9 fuses. */
async function fakeElectronBinary(path: string, fuses = 9): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const wire = Buffer.alloc(fuses, FuseState.ENABLE);
  // The shipped defaults: RunAsNode, NODE_OPTIONS and inspect on; the rest off.
  wire[FuseV1Options.EnableCookieEncryption] = FuseState.DISABLE;
  wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation] = FuseState.DISABLE;
  wire[FuseV1Options.OnlyLoadAppFromAsar] = FuseState.DISABLE;
  await writeFile(
    path,
    Buffer.concat([
      Buffer.alloc(4096, 0xcc),
      Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'),
      Buffer.from([1, fuses]),
      wire,
      Buffer.alloc(4096, 0xcc),
    ]),
  );
}

describe('afterPack: Electron fuses', () => {
  const expected = {
    RunAsNode: FuseState.DISABLE,
    EnableNodeOptionsEnvironmentVariable: FuseState.DISABLE,
    EnableNodeCliInspectArguments: FuseState.DISABLE,
    EnableCookieEncryption: FuseState.ENABLE,
    EnableEmbeddedAsarIntegrityValidation: FuseState.ENABLE,
    OnlyLoadAppFromAsar: FuseState.ENABLE,
    GrantFileProtocolExtraPrivileges: FuseState.DISABLE,
  } as const;

  it('is the default export electron-builder calls, with the agreed settings', () => {
    expect(hook.default).toBe(hook.afterPack);
    expect(hook.FUSE_SETTINGS).toEqual({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableCookieEncryption: true,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      GrantFileProtocolExtraPrivileges: false,
    });
  });

  it.each([
    ['linux', 'sealpost', { executableName: 'sealpost' }],
    ['win32', 'Sealpost.exe', {}],
    [
      'darwin',
      'Sealpost.app/Contents/Frameworks/Electron Framework.framework/Electron Framework',
      {},
    ],
  ] as const)('flips them in the %s binary', async (platform, file, extra) => {
    const appOutDir = join(work, platform);
    const binary = join(appOutDir, file);
    await fakeElectronBinary(binary);
    const context: HookContext = {
      appOutDir,
      electronPlatformName: platform,
      arch: 1,
      packager: { appInfo: { productFilename: 'Sealpost' }, ...extra },
    };
    const target = hook.fuseTarget(context);
    await hook.afterPack(context);
    const wire = await getCurrentFuseWire(target);
    for (const [name, state] of Object.entries(expected)) {
      expect(wire[FuseV1Options[name as keyof typeof FuseV1Options]], name).toBe(state);
    }
    // Fuses it does not set keep the binary's value.
    expect(wire[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBe(FuseState.ENABLE);
  });

  it('fails the build when the binary has no fuse wire', async () => {
    const appOutDir = join(work, 'broken');
    await mkdir(appOutDir, { recursive: true });
    await writeFile(join(appOutDir, 'sealpost'), Buffer.alloc(1024));
    await expect(
      hook.afterPack({
        appOutDir,
        electronPlatformName: 'linux',
        packager: { appInfo: { productFilename: 'Sealpost' }, executableName: 'sealpost' },
      }),
    ).rejects.toThrow(/sentinel/);
  });

  it('refuses a platform it does not know', () => {
    expect(() =>
      hook.fuseTarget({
        appOutDir: work,
        electronPlatformName: 'aix',
        packager: { appInfo: { productFilename: 'Sealpost' } },
      }),
    ).toThrow(/no fuse target/);
  });
});
