/**
 * "Load remote images" for one message, on the user's request (issue 7: remote content is
 * blocked, with a per-message choice to load it).
 *
 * The mail window never fetches anything itself: its page and the message frame allow
 * `data:` images only (hisp/api/ui.ts). When the user asks, the HISP fetches the images the
 * message's HTML names in `<img src>` — over the same guarded fetcher as certificates and
 * CRLs (public addresses only on a practice server: a URL in a message cannot reach the
 * internal network), without cookies or a referrer — checks each is really an image by its
 * first bytes (not by what the server claims; SVG is refused, as it is a document), and hands
 * them back as `data:` URIs for the frame. The sender learns that the message was opened,
 * which is why it is the user's choice and is written to the audit log.
 */
import { HispError } from '../api/errors.js';
import type { Fetcher } from '../certs/fetch.js';

/** Bounds on one "load remote images". */
export const REMOTE_IMAGE_LIMITS = {
  /** Distinct image URLs fetched per message at most. */
  images: 50,
  /** Largest single image. */
  imageBytes: 5 * 1024 * 1024,
  /** All images of the message together. */
  totalBytes: 20 * 1024 * 1024,
  /** Fetches at once. */
  concurrency: 4,
} as const;

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** The attribute value a browser would see for the common entity forms in URLs. */
function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);?/gi, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code =
        body[1] === 'x' || body[1] === 'X'
          ? Number.parseInt(body.slice(2), 16)
          : Number.parseInt(body.slice(1), 10);
      return Number.isSafeInteger(code) && code > 0 && code <= 0x10ffff
        ? String.fromCodePoint(code)
        : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** The absolute http(s) URL to fetch for an `<img src>` value, or undefined. */
export function fetchableUrl(source: string): string | undefined {
  const trimmed = source.trim();
  const absolute = trimmed.startsWith('//') ? `https:${trimmed}` : trimmed;
  let url: URL;
  try {
    url = new URL(absolute);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.href;
}

/**
 * The remote `<img src>` values of an HTML body, as the browser will read them (entities
 * decoded, trimmed), distinct, in order, at most `REMOTE_IMAGE_LIMITS.images`.
 */
export function remoteImageSources(html: string): string[] {
  const out = new Set<string>();
  const tag = /<img\b[^>]*>/gi;
  for (const match of html.matchAll(tag)) {
    const src = /\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i.exec(match[0]);
    const raw = src?.[1] ?? src?.[2] ?? src?.[3];
    if (raw === undefined) continue;
    const value = decodeEntities(raw).trim();
    if (fetchableUrl(value) === undefined) continue;
    out.add(value);
    if (out.size >= REMOTE_IMAGE_LIMITS.images) break;
  }
  return [...out];
}

/** The image type by its first bytes (raster formats a browser shows in `<img>`), if any. */
export function sniffImageType(bytes: Buffer): string | undefined {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (
    bytes
      .subarray(0, 6)
      .toString('latin1')
      .match(/^GIF8[79]a$/)
  )
    return 'image/gif';
  if (
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  if (starts(0x42, 0x4d) && bytes.length > 26) return 'image/bmp';
  if (starts(0x00, 0x00, 0x01, 0x00)) return 'image/x-icon';
  return undefined;
}

export interface RemoteImages {
  /** `source` is the `<img src>` value as written (the key the UI substitutes). */
  readonly images: { readonly source: string; readonly dataUri: string }[];
  readonly failed: { readonly source: string; readonly reason: string }[];
}

/** Fetch a message's remote images, given its {@link remoteImageSources} (see the module comment). */
export async function loadRemoteImages(
  sources: readonly string[],
  fetcher: Fetcher,
): Promise<RemoteImages> {
  const images: { source: string; dataUri: string }[] = [];
  const failed: { source: string; reason: string }[] = [];
  let total = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      const source = sources[index];
      if (source === undefined) return;
      const url = fetchableUrl(source);
      if (url === undefined) continue;
      try {
        const bytes = await fetcher.get(url, { maxBytes: REMOTE_IMAGE_LIMITS.imageBytes });
        const type = sniffImageType(bytes);
        if (type === undefined) {
          failed.push({ source, reason: 'The address did not give an image.' });
          continue;
        }
        if (total + bytes.length > REMOTE_IMAGE_LIMITS.totalBytes) {
          failed.push({ source, reason: 'The message’s images are too large altogether.' });
          continue;
        }
        total += bytes.length;
        images.push({ source, dataUri: `data:${type};base64,${bytes.toString('base64')}` });
      } catch (error) {
        failed.push({ source, reason: HispError.from(error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: REMOTE_IMAGE_LIMITS.concurrency }, () => worker()));
  const order = new Map(sources.map((source, index) => [source, index]));
  const byOrder = (a: { source: string }, b: { source: string }): number =>
    (order.get(a.source) ?? 0) - (order.get(b.source) ?? 0);
  return { images: images.sort(byOrder), failed: failed.sort(byOrder) };
}
