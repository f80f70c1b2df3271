// electron-builder's afterPack hook (build/electron-builder.yml): flips Electron's fuses in the
// packaged binary, before electron-builder signs it (a flip after signing would break the
// signature). Fuses are switches compiled into the Electron binary that no command line or
// environment variable can turn back:
//
//   RunAsNode off                      ELECTRON_RUN_AS_NODE cannot turn Sealpost into plain Node
//   EnableNodeOptionsEnvironmentVariable off   NODE_OPTIONS cannot inject code
//   EnableNodeCliInspectArguments off  --inspect cannot attach a debugger
//   EnableCookieEncryption on          Chromium's cookie store encrypted with the OS keychain
//   EnableEmbeddedAsarIntegrityValidation on  app.asar checked against the hash in the binary
//                                      (macOS and Windows; Electron has no Linux support yet)
//   OnlyLoadAppFromAsar on             the app runs only from the checked app.asar
//   GrantFileProtocolExtraPrivileges off  file:// gets no extra powers (the app uses sealpost://)
//
// Sealpost's own code never needs any of them on: the HISP runs in a utility process, not as
// RunAsNode. test/unit/electron-packaging.test.ts runs this hook against a file laid out like
// each platform's binary and reads the fuses back with @electron/fuses.
import { join } from 'node:path';

/** The fuse settings, by @electron/fuses option name. */
export const FUSE_SETTINGS = Object.freeze({
  RunAsNode: false,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableCookieEncryption: true,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  GrantFileProtocolExtraPrivileges: false,
});

/**
 * The file whose fuses are flipped: the .app bundle on macOS (@electron/fuses finds the
 * framework inside), the .exe on Windows, the executable on Linux.
 * @param {{ appOutDir: string, electronPlatformName: string, packager: { appInfo: { productFilename: string }, executableName?: string } }} context
 */
export function fuseTarget(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  const name = packager.appInfo.productFilename;
  switch (electronPlatformName) {
    case 'darwin':
    case 'mas':
      return join(appOutDir, `${name}.app`);
    case 'win32':
      return join(appOutDir, `${name}.exe`);
    case 'linux':
      return join(appOutDir, packager.executableName ?? name);
    default:
      throw new Error(`afterPack: no fuse target for platform ${electronPlatformName}`);
  }
}

/**
 * Flips the fuses of the packaged app. Fails the build if the binary has no fuse wire or a
 * fuse cannot be set: an installer with its fuses unflipped must not be produced.
 * @param {Parameters<typeof fuseTarget>[0] & { arch?: number }} context
 */
export async function afterPack(context) {
  const { flipFuses, FuseV1Options, FuseVersion } = await import('@electron/fuses');
  /** @type {Record<string, unknown>} */
  const config = { version: FuseVersion.V1 };
  for (const [option, value] of Object.entries(FUSE_SETTINGS)) {
    const index = FuseV1Options[/** @type {keyof typeof FuseV1Options} */ (option)];
    if (typeof index !== 'number') throw new Error(`afterPack: unknown fuse ${option}`);
    config[index] = value;
  }
  // electron-builder re-signs macOS apps after this hook; an ad-hoc signature is reset so
  // arm64 binaries stay launchable in unsigned local builds. (Arch 3 is arm64 in its enum.)
  const darwin =
    context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas';
  config['resetAdHocDarwinSignature'] = darwin && context.arch === 3;
  const target = fuseTarget(context);
  await flipFuses(target, /** @type {import('@electron/fuses').FuseConfig} */ (config));
  console.log(`afterPack: fuses flipped in ${target}`);
}

export default afterPack;
