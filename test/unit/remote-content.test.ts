/**
 * "Load remote images" in the HISP (hisp/host/remoteContent.ts): which `<img src>` values
 * are taken (as a browser reads them), what counts as an image (by its bytes, never the
 * server's word; SVG refused), the limits, and the fetch itself against a real loopback HTTP
 * server — through the same fetcher as certificates, whose public-only mode (what `serve`
 * uses) refuses the loopback address.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import {
  loadRemoteImages,
  REMOTE_IMAGE_LIMITS,
  remoteImageSources,
  sniffImageType,
} from '../../hisp/host/remoteContent.js';
import { createSilentLogger } from '../../hisp/log/logger.js';

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(40, 7),
]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

let server: Server;
let origin: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    hits.push(request.url ?? '');
    const body =
      request.url === '/chart.png'
        ? PNG
        : request.url === '/logo.svg'
          ? SVG
          : Buffer.from('<html>not an image</html>');
    // The server's claim is never believed: everything says image/png.
    response.writeHead(request.url === '/missing.png' ? 404 : 200, {
      'content-type': 'image/png',
    });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('remote image sources', () => {
  it('takes http(s) and protocol-relative <img src> values as a browser reads them, once each', () => {
    const html =
      '<p><img src="https://cdn.example/a.png?x=1&amp;y=2" alt="a">' +
      "<IMG alt=b SRC='//cdn.example/b.gif'>" +
      '<img src=http://cdn.example/c.jpg>' +
      '<img src="https://cdn.example/a.png?x=1&y=2">' + // the same after decoding
      '<img src="cid:part1@example">' +
      '<img src="data:image/png;base64,AAAA">' +
      '<img src="javascript:alert(1)">' +
      '<img src="https://user:pw@cdn.example/d.png">' +
      '<img data-src="https://cdn.example/e.png">' +
      '<div style="background:url(https://cdn.example/f.png)"></div></p>';
    expect(remoteImageSources(html)).toEqual([
      'https://cdn.example/a.png?x=1&y=2',
      '//cdn.example/b.gif',
      'http://cdn.example/c.jpg',
    ]);
  });

  it(`stops at ${REMOTE_IMAGE_LIMITS.images} images`, () => {
    const html = Array.from({ length: 80 }, (_, i) => `<img src="https://x.example/${i}.png">`);
    expect(remoteImageSources(html.join(''))).toHaveLength(REMOTE_IMAGE_LIMITS.images);
  });

  it('knows raster images by their first bytes and refuses SVG and HTML', () => {
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageType(Buffer.from('GIF89a......'))).toBe('image/gif');
    expect(sniffImageType(SVG)).toBeUndefined();
    expect(sniffImageType(Buffer.from('<html>'))).toBeUndefined();
  });
});

describe('loading them', () => {
  const html = () =>
    `<img src="${origin}/chart.png"><img src="${origin}/logo.svg">` +
    `<img src="${origin}/page.png"><img src="${origin}/missing.png">`;

  it('returns the images as data: URIs and says why the others were not loaded', async () => {
    const fetcher = createHttpFetcher({ logger: createSilentLogger() });
    const loaded = await loadRemoteImages(remoteImageSources(html()), fetcher);
    expect(loaded.images).toEqual([
      {
        source: `${origin}/chart.png`,
        dataUri: `data:image/png;base64,${PNG.toString('base64')}`,
      },
    ]);
    expect(loaded.failed.map((f) => [f.source.replace(origin, ''), f.reason])).toEqual([
      ['/logo.svg', 'The address did not give an image.'],
      ['/page.png', 'The address did not give an image.'],
      ['/missing.png', expect.stringMatching(/404/)],
    ]);
  });

  it('refuses a private address with the public-only fetcher serve uses, asking nothing of it', async () => {
    const before = hits.length;
    const fetcher = createHttpFetcher({ logger: createSilentLogger(), publicOnly: true });
    const loaded = await loadRemoteImages(remoteImageSources(html()), fetcher);
    expect(loaded.images).toEqual([]);
    expect(loaded.failed).toHaveLength(4);
    expect(hits.length).toBe(before);
  });
});
