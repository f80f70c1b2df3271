/**
 * The committed application icons (made by `npm run icons`, scripts/make-icons.mjs, from
 * build/icon.svg), read back without Chromium: every PNG is whole (signature, chunk CRCs, IEND)
 * and decompresses to RGBA pixels of the size its name or container entry says; the ICO
 * directory and the ICNS chunk list name exactly the sizes electron-builder and the desktops
 * expect, and their offsets and lengths land on those PNGs; and electron-builder's own icon
 * lookup (the candidate list app-builder-lib builds, searched in build/ then the project, as it
 * does) finds these files for macOS, Windows and Linux with build/electron-builder.yml as it
 * is. Packaging cannot run here (it downloads Electron), so a wrong or missing icon would
 * otherwise only show as Electron's default icon in an installer.
 *
 * Each check is also run against a copy in a temporary directory with one thing broken, so a
 * check that could never fail would fail here.
 */
import { copyFile, cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = 'build/electron-builder.yml';

/** Linux's set in build/icons/NxN.png. */
const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
/** The ICO's entries, in directory order. */
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
/** The ICNS chunk types, in file order, and the PNG size each must hold. */
const ICNS_TYPES: readonly (readonly [string, number])[] = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const RGBA = 6;

interface PngInfo {
  width: number;
  height: number;
}

/**
 * A PNG read far enough to know it is whole and what it holds: the signature, every chunk's
 * length and CRC up to IEND with nothing after it, an 8-bit RGBA IHDR, and IDAT data that
 * inflates to exactly one filter byte plus four bytes per pixel for every row.
 */
function readPng(data: Buffer, where: string): PngInfo {
  if (data.length < 8 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error(`${where}: no PNG signature`);
  }
  let at = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (!ended) {
    if (at + 12 > data.length) throw new Error(`${where}: truncated before IEND`);
    const length = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    if (at + 12 + length > data.length)
      throw new Error(`${where}: ${type} chunk runs past the end`);
    const body = data.subarray(at + 8, at + 8 + length);
    if (crc32(data.subarray(at + 4, at + 8 + length)) !== data.readUInt32BE(at + 8 + length)) {
      throw new Error(`${where}: bad CRC in ${type}`);
    }
    if (ihdr === undefined && type !== 'IHDR') throw new Error(`${where}: IHDR is not first`);
    if (type === 'IHDR') ihdr = body;
    if (type === 'IDAT') idat.push(body);
    if (type === 'IEND') ended = true;
    at += 12 + length;
  }
  if (at !== data.length) throw new Error(`${where}: ${data.length - at} bytes after IEND`);
  if (ihdr === undefined || ihdr.length !== 13) throw new Error(`${where}: no valid IHDR`);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [bitDepth, colourType, , , interlace] = ihdr.subarray(8);
  if (bitDepth !== 8 || colourType !== RGBA) {
    throw new Error(`${where}: not 8-bit RGBA (depth ${bitDepth}, colour type ${colourType})`);
  }
  if (interlace !== 0) throw new Error(`${where}: interlaced`);
  const pixels = inflateSync(Buffer.concat(idat));
  if (pixels.length !== height * (1 + width * 4)) {
    throw new Error(`${where}: image data is ${pixels.length} bytes, not ${width}x${height} RGBA`);
  }
  return { width, height };
}

function expectSquarePng(data: Buffer, size: number, where: string): void {
  const { width, height } = readPng(data, where);
  if (width !== size || height !== size) {
    throw new Error(`${where}: ${width}x${height}, expected ${size}x${size}`);
  }
}

/** build/icons/NxN.png for every Linux size, and the 1024 px build/icon.png. */
async function checkPngs(buildDir: string): Promise<void> {
  for (const size of LINUX_SIZES) {
    const name = `icons/${size}x${size}.png`;
    expectSquarePng(await readFile(join(buildDir, name)), size, name);
  }
  expectSquarePng(await readFile(join(buildDir, 'icon.png')), 1024, 'icon.png');
}

/**
 * build/icon.ico: ICONDIR (reserved 0, type 1, count), one ICONDIRENTRY per size (one byte
 * each for width and height, 0 for 256; 1 plane, 32 bits per pixel; length and offset), and
 * the images packed after the directory in order, each a PNG of its entry's size.
 */
async function checkIco(buildDir: string): Promise<void> {
  const data = await readFile(join(buildDir, 'icon.ico'));
  if (data.length < 6 || data.readUInt16LE(0) !== 0 || data.readUInt16LE(2) !== 1) {
    throw new Error('icon.ico: not an icon directory');
  }
  const count = data.readUInt16LE(4);
  if (count !== ICO_SIZES.length) {
    throw new Error(`icon.ico: ${count} entries, expected ${ICO_SIZES.length}`);
  }
  let expectedOffset = 6 + 16 * count;
  ICO_SIZES.forEach((size, i) => {
    const entry = data.subarray(6 + i * 16, 6 + (i + 1) * 16);
    const where = `icon.ico entry ${i} (${size}px)`;
    const sizeByte = size === 256 ? 0 : size;
    if (entry[0] !== sizeByte || entry[1] !== sizeByte) {
      throw new Error(`${where}: directory says ${entry[0]}x${entry[1]}`);
    }
    if (entry.readUInt16LE(4) !== 1 || entry.readUInt16LE(6) !== 32) {
      throw new Error(`${where}: not 1 plane of 32 bits per pixel`);
    }
    const length = entry.readUInt32LE(8);
    const offset = entry.readUInt32LE(12);
    if (offset !== expectedOffset) {
      throw new Error(`${where}: offset ${offset}, expected ${expectedOffset}`);
    }
    if (offset + length > data.length) throw new Error(`${where}: runs past the end of the file`);
    expectSquarePng(data.subarray(offset, offset + length), size, where);
    expectedOffset = offset + length;
  });
  if (expectedOffset !== data.length) {
    throw new Error(`icon.ico: ${data.length - expectedOffset} bytes after the last image`);
  }
}

/**
 * build/icon.icns: 'icns' and the total length (big-endian), then chunks of a four-letter type
 * and a length that counts the chunk's own 8-byte header, each holding a PNG of its type's size.
 */
async function checkIcns(buildDir: string): Promise<void> {
  const data = await readFile(join(buildDir, 'icon.icns'));
  if (data.length < 8 || data.toString('latin1', 0, 4) !== 'icns') {
    throw new Error('icon.icns: no icns header');
  }
  if (data.readUInt32BE(4) !== data.length) {
    throw new Error(`icon.icns: header says ${data.readUInt32BE(4)} bytes, file is ${data.length}`);
  }
  const found: string[] = [];
  let at = 8;
  while (at < data.length) {
    if (at + 8 > data.length) throw new Error('icon.icns: truncated chunk header');
    const type = data.toString('latin1', at, at + 4);
    const length = data.readUInt32BE(at + 4);
    if (length < 8 || at + length > data.length) {
      throw new Error(`icon.icns: ${type} has length ${length}, past the end of the file`);
    }
    const size = ICNS_TYPES.find(([known]) => known === type)?.[1];
    if (size === undefined) throw new Error(`icon.icns: unexpected chunk ${type}`);
    expectSquarePng(data.subarray(at + 8, at + length), size, `icon.icns ${type}`);
    found.push(type);
    at += length;
  }
  const expected = ICNS_TYPES.map(([type]) => type);
  if (found.join() !== expected.join()) {
    throw new Error(`icon.icns: chunks ${found.join()}, expected ${expected.join()}`);
  }
}

/** app-builder-lib's configuration loader and icon lookup, as electron-builder uses them. */
const requireFromBuilder = createRequire(
  createRequire(import.meta.url).resolve('electron-builder'),
);
const configApi = requireFromBuilder('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null): Promise<BuilderConfig>;
};
const { buildSourceCandidates } = requireFromBuilder(
  'app-builder-lib/out/util/iconConverter.js',
) as { buildSourceCandidates(this: void, sources: string[], format: string): string[] };
type BuilderConfig = Record<string, unknown>;

const iconOf = (config: BuilderConfig, platform: string): string | undefined => {
  const section = config[platform] as { icon?: string | null } | undefined;
  return section?.icon ?? undefined;
};

/**
 * The file electron-builder would take: its candidate names for the icon settings in order,
 * each looked for in the build resources directory and then the project directory (absolute
 * names as they are), the first that exists winning, as app-builder-lib's resolveSourceFile
 * does. The sources are the platform's packager's: `mac.icon` or `icon` for macOS (icns),
 * `win.icon` or `icon` for Windows (ico), and for Linux (a set) `linux.icon` and then
 * `mac.icon` or `icon` (LinuxTargetHelper.computeDesktopIcons).
 */
async function resolveIcon(
  config: BuilderConfig,
  projectDir: string,
  platform: 'mac' | 'win' | 'linux',
): Promise<string | null> {
  const common = (config['icon'] as string | undefined) ?? undefined;
  const sources =
    platform === 'linux'
      ? [iconOf(config, 'linux'), iconOf(config, 'mac') ?? common]
      : [iconOf(config, platform) ?? common];
  const format = { mac: 'icns', win: 'ico', linux: 'set' }[platform];
  const directories = config['directories'] as { buildResources?: string } | undefined;
  const roots = [join(projectDir, directories?.buildResources ?? 'build'), projectDir];
  const candidates = buildSourceCandidates(
    sources.filter((source): source is string => typeof source === 'string' && source !== ''),
    format,
  );
  for (const candidate of candidates) {
    for (const path of isAbsolute(candidate)
      ? [candidate]
      : roots.map((root) => join(root, candidate))) {
      if (
        await stat(path).then(
          () => true,
          () => false,
        )
      )
        return path;
    }
  }
  return null;
}

let config: BuilderConfig;
let work: string;

beforeAll(async () => {
  config = await configApi.getConfig(repoRoot, join(repoRoot, CONFIG));
  work = await mkdtemp(join(tmpdir(), 'sealpost-icons-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const buildDir = join(repoRoot, 'build');

describe('the committed application icons', () => {
  it('has every Linux PNG and the 1024 px icon.png, RGBA at the size in its name', async () => {
    await expect(checkPngs(buildDir)).resolves.toBeUndefined();
  });

  it('has an ICO of PNG entries 16 to 256 px, offsets and lengths on whole PNGs', async () => {
    await expect(checkIco(buildDir)).resolves.toBeUndefined();
  });

  it('has an ICNS of PNG chunks icp4 to ic10, lengths adding up to the file', async () => {
    await expect(checkIcns(buildDir)).resolves.toBeUndefined();
  });

  it("is what electron-builder's icon lookup finds for each platform", async () => {
    // build/electron-builder.yml names no icon: the lookup falls to its defaults in build/.
    expect(await resolveIcon(config, repoRoot, 'mac')).toBe(join(buildDir, 'icon.icns'));
    expect(await resolveIcon(config, repoRoot, 'win')).toBe(join(buildDir, 'icon.ico'));
    expect(await resolveIcon(config, repoRoot, 'linux')).toBe(join(buildDir, 'icons'));
  });
});

describe('the icon checks fail on a broken copy', () => {
  /** A fresh copy of build/'s icon files in the temporary directory. */
  async function copy(name: string): Promise<string> {
    const dir = join(work, name);
    await cp(join(buildDir, 'icons'), join(dir, 'icons'), { recursive: true });
    for (const file of ['icon.png', 'icon.ico', 'icon.icns']) {
      await copyFile(join(buildDir, file), join(dir, file));
    }
    return dir;
  }

  it('a missing Linux size', async () => {
    const dir = await copy('missing');
    await rm(join(dir, 'icons', '48x48.png'));
    await expect(checkPngs(dir)).rejects.toThrow(/ENOENT.*48x48\.png/);
  });

  it('a PNG of the wrong size under a size name', async () => {
    const dir = await copy('wrong-size');
    await copyFile(join(dir, 'icons', '32x32.png'), join(dir, 'icons', '24x24.png'));
    await expect(checkPngs(dir)).rejects.toThrow('icons/24x24.png: 32x32, expected 24x24');
  });

  it('a damaged PNG', async () => {
    const dir = await copy('damaged');
    const png = await readFile(join(dir, 'icon.png'));
    png[png.length - 20] = png[png.length - 20]! ^ 0xff;
    await writeFile(join(dir, 'icon.png'), png);
    await expect(checkPngs(dir)).rejects.toThrow(/icon\.png: bad CRC/);
  });

  it('an ICO entry whose directory size is wrong', async () => {
    const dir = await copy('ico-size');
    const ico = await readFile(join(dir, 'icon.ico'));
    ico[6 + 6 * 16] = 255; // the 256 px entry must say 0
    await writeFile(join(dir, 'icon.ico'), ico);
    await expect(checkIco(dir)).rejects.toThrow('entry 6 (256px): directory says 255x0');
  });

  it('an ICO offset that misses its PNG', async () => {
    const dir = await copy('ico-offset');
    const ico = await readFile(join(dir, 'icon.ico'));
    ico.writeUInt32LE(ico.readUInt32LE(6 + 16 + 12) + 4, 6 + 16 + 12);
    await writeFile(join(dir, 'icon.ico'), ico);
    await expect(checkIco(dir)).rejects.toThrow(/entry 1 \(24px\): offset/);
  });

  it('an ICNS whose header length is not the file size', async () => {
    const dir = await copy('icns-length');
    const icns = await readFile(join(dir, 'icon.icns'));
    await writeFile(join(dir, 'icon.icns'), icns.subarray(0, icns.length - 1));
    await expect(checkIcns(dir)).rejects.toThrow(/header says \d+ bytes, file is \d+/);
  });

  it('an ICNS chunk type holding the wrong size', async () => {
    const dir = await copy('icns-type');
    const icns = await readFile(join(dir, 'icon.icns'));
    icns.write('icp5', 8, 'latin1'); // the first chunk holds 16 px, icp5 means 32
    await writeFile(join(dir, 'icon.icns'), icns);
    await expect(checkIcns(dir)).rejects.toThrow('icon.icns icp5: 16x16, expected 32x32');
  });

  it('an icon electron-builder would not find', async () => {
    const dir = await copy('lookup');
    await rm(join(dir, 'icon.ico'));
    const project = dirname(dir);
    const local = { ...config, directories: { buildResources: 'lookup' } };
    expect(await resolveIcon(local, project, 'mac')).toBe(join(dir, 'icon.icns'));
    // Without icon.ico, Windows falls to the next candidate, the Linux set, not our ICO.
    expect(await resolveIcon(local, project, 'win')).not.toBe(join(dir, 'icon.ico'));
  });
});
