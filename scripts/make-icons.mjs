// `npm run icons`: renders Sealpost's application icon (build/icon.svg, and
// build/icon-small.svg for 16 to 32 px) into every file electron-builder looks for in build/
// (see build/README.md):
//   build/icons/NxN.png  Linux, 16 to 512 px
//   build/icon.png       1024 px, the fallback for all three platforms
//   build/icon.ico       Windows: PNG-compressed entries 16 to 256 px
//   build/icon.icns      macOS: PNG entries 16 to 1024 px
// The SVG is rasterised by Chromium driven by Playwright: the Debian Chromium the end-to-end
// tests use (playwright.config.ts, which fails with install instructions when it is missing;
// Playwright's own browser downloads are never used), so making the icons needs no image tool
// and no download; the ICO and ICNS containers are
// simple enough to write here (a directory of offsets, or a list of typed chunks, around the
// PNG files) rather than adding a dependency for them. The outputs are committed:
// electron-builder uses them as they are, on machines without Chromium.
// test/unit/build-icons.test.ts reads the committed files back and checks their structure.
import { chromium } from '@playwright/test';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, CHROMIUM_ARGS } from '../playwright.config.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');

/** Every size rendered. */
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
/** At and below this size the simplified drawing is used (thicker strokes, pixel-aligned). */
const SMALL_MAX = 32;
/** Linux's set in build/icons/ (electron-builder takes the size from the file name). */
const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
/** Windows' ICO: 256 is the largest size an ICO directory can describe. */
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
/** macOS' ICNS: the PNG-capable entry types and the pixel size each one holds. */
const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk, which always comes first, after the signature. */
function pngSize(png) {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** One page per size, the SVG as an image scaled to fill it, screenshotted without a background. */
async function render(browser, svg, size) {
  const page = await browser.newPage({
    viewport: { width: size, height: size },
    deviceScaleFactor: 1,
  });
  try {
    const src = `data:image/svg+xml;base64,${svg.toString('base64')}`;
    await page.setContent(
      '<!doctype html><style>html,body{margin:0;background:transparent}img{display:block}</style>' +
        `<img src="${src}" width="${size}" height="${size}" alt="">`,
      { waitUntil: 'load' },
    );
    // A broken SVG (an XML error) still "loads", as the broken-image glyph: refuse it.
    const decoded = await page.$eval(
      'img',
      (/** @type {HTMLImageElement} */ img) => img.complete && img.naturalWidth > 0,
    );
    if (!decoded) throw new Error(`Chromium could not draw the SVG at ${size}x${size}`);
    const png = await page.screenshot({
      omitBackground: true,
      clip: { x: 0, y: 0, width: size, height: size },
    });
    const { width, height } = pngSize(png);
    if (width !== size || height !== size) {
      throw new Error(`rendered ${width}x${height} for ${size}x${size}`);
    }
    return png;
  } finally {
    await page.close();
  }
}

/**
 * ICO: a 6-byte ICONDIR (reserved 0, type 1 = icon, count), one 16-byte ICONDIRENTRY per
 * image (width and height as one byte each, 0 meaning 256; palette size 0; reserved 0;
 * 1 plane; 32 bits per pixel; data length and offset, little-endian), then the images. Each
 * image is a whole PNG file, which Windows reads since Vista.
 */
function ico(pngs) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(ICO_SIZES.length, 4);
  const entries = Buffer.alloc(16 * ICO_SIZES.length);
  let offset = header.length + entries.length;
  ICO_SIZES.forEach((size, i) => {
    const png = pngs.get(size);
    const at = i * 16;
    entries.writeUInt8(size >= 256 ? 0 : size, at);
    entries.writeUInt8(size >= 256 ? 0 : size, at + 1);
    entries.writeUInt8(0, at + 2);
    entries.writeUInt8(0, at + 3);
    entries.writeUInt16LE(1, at + 4);
    entries.writeUInt16LE(32, at + 6);
    entries.writeUInt32LE(png.length, at + 8);
    entries.writeUInt32LE(offset, at + 12);
    offset += png.length;
  });
  return Buffer.concat([header, entries, ...ICO_SIZES.map((size) => pngs.get(size))]);
}

/**
 * ICNS: the magic 'icns' and the file's total length, then one chunk per image: a four-letter
 * type naming its size, the chunk's length including these 8 bytes (big-endian), and a whole
 * PNG file.
 */
function icns(pngs) {
  const chunks = ICNS_TYPES.map(([type, size]) => {
    const png = pngs.get(size);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(8 + png.length, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + chunks.reduce((total, chunk) => total + chunk.length, 0), 4);
  return Buffer.concat([head, ...chunks]);
}

const svg = await readFile(join(buildDir, 'icon.svg'));
const smallSvg = await readFile(join(buildDir, 'icon-small.svg'));

const browser = await chromium.launch({
  headless: true,
  executablePath: CHROMIUM,
  args: [...CHROMIUM_ARGS],
});
/** @type {Map<number, Buffer>} */
const pngs = new Map();
try {
  for (const size of SIZES) {
    pngs.set(size, await render(browser, size <= SMALL_MAX ? smallSvg : svg, size));
  }
} finally {
  await browser.close();
}

await mkdir(join(buildDir, 'icons'), { recursive: true });
const written = [];
const write = async (path, data) => {
  await writeFile(join(buildDir, path), data);
  written.push(`build/${path} (${data.length} bytes)`);
};
for (const size of LINUX_SIZES) await write(`icons/${size}x${size}.png`, pngs.get(size));
await write('icon.png', pngs.get(1024));
await write('icon.ico', ico(pngs));
await write('icon.icns', icns(pngs));
console.log(`Wrote:\n  ${written.join('\n  ')}`);
