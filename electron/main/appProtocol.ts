/**
 * The app's own files over a custom protocol, `sealpost://app/…`, instead of `file://`: a
 * `file://` page shares its origin with every file on the disk, while this scheme serves only
 * what is under dist/renderer, and only files, with the Content-Security-Policy and
 * `nosniff` on every answer (webRequest's header hooks do not see custom protocols).
 *
 * No `electron` import: main.ts registers the scheme and hands `appResponse` its requests;
 * here it is unit-tested in plain Node against real files.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';

import { CONTENT_SECURITY_POLICY } from './windowPolicy.js';

/** The scheme. Registered as standard and secure before the app is ready (main.ts). */
export const APP_SCHEME = 'sealpost';
/** The one host under the scheme. */
export const APP_HOST = 'app';
/** The app's origin, for comparisons: `sealpost://app`. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window loads. */
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * The privileges the scheme is registered with (protocol.registerSchemesAsPrivileged):
 * standard (so relative URLs and 'self' in the CSP work), secure (a secure context, like
 * https), fetch for the page's own modules. Not `bypassCSP`, no service workers, no streams.
 */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: true,
  allowServiceWorkers: false,
  bypassCSP: false,
  stream: false,
} as const;

/** Files larger than this are not served (the renderer's biggest bundle is far smaller). */
export const MAX_APP_FILE_BYTES = 32 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** Why a request got no file. */
export type AppFileRefusal =
  'not-the-app' | 'query-or-credentials' | 'bad-path' | 'unknown-type' | 'not-found' | 'too-large';

export type AppFileLookup =
  | { readonly ok: true; readonly path: string; readonly contentType: string }
  | { readonly ok: false; readonly reason: Exclude<AppFileRefusal, 'not-found' | 'too-large'> };

/**
 * Which file under `root` (absolute) a `sealpost://app/…` URL names, decided on the URL alone.
 * Refused: another scheme or host, a port, credentials or a query; a path with `..`, `\`, an
 * encoded `/` or `\`, NUL, or anything else that decodes outside `root`; a type not in
 * CONTENT_TYPES. `/` is index.html.
 */
export function lookupAppFile(url: string, root: string): AppFileLookup {
  if (!isAbsolute(root)) throw new Error('The app root must be an absolute path.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'not-the-app' };
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) {
    return { ok: false, reason: 'not-the-app' };
  }
  if (parsed.search !== '' || parsed.username !== '' || parsed.password !== '') {
    return { ok: false, reason: 'query-or-credentials' };
  }
  const rawPath =
    parsed.pathname === '/' || parsed.pathname === '' ? '/index.html' : parsed.pathname;
  if (/%2f|%5c|%00/i.test(rawPath) || rawPath.includes('\\')) {
    return { ok: false, reason: 'bad-path' };
  }
  let segments: string[];
  try {
    segments = rawPath.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return { ok: false, reason: 'bad-path' };
  }
  if (
    segments.some(
      (segment) =>
        segment === '' ||
        segment === '.' ||
        segment === '..' ||
        segment.includes('\0') ||
        segment.includes('\\') ||
        segment.includes(':'),
    )
  ) {
    return { ok: false, reason: 'bad-path' };
  }
  const path = join(root, ...segments);
  const inside = relative(root, path);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    return { ok: false, reason: 'bad-path' };
  }
  const contentType = CONTENT_TYPES[extname(path).toLowerCase()];
  if (contentType === undefined) return { ok: false, reason: 'unknown-type' };
  return { ok: true, path, contentType };
}

/** An answer to one request of the scheme, turned into a Response by main.ts. */
export interface AppResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  /** For the log when the status is not 200 (the scheme's refusal, never the URL). */
  readonly refusal?: AppFileRefusal;
}

/** Headers on every answer, files and errors alike. */
function baseHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function refused(status: number, refusal: AppFileRefusal): AppResponse {
  return {
    status,
    headers: { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8' },
    body: undefined,
    refusal,
  };
}

/**
 * The answer to a request for `url` from the files under `root`: 200 with the file, 404 for
 * anything refused or missing (never a directory listing, never a file outside `root`), and
 * 405 for a method other than GET or HEAD.
 */
export async function appResponse(url: string, method: string, root: string): Promise<AppResponse> {
  if (method !== 'GET' && method !== 'HEAD') return refused(405, 'not-the-app');
  const lookup = lookupAppFile(url, root);
  if (!lookup.ok) return refused(404, lookup.reason);
  try {
    // A link that leads out of the root is refused like a `..` (the build makes no links).
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(lookup.path)]);
    const inside = relative(realRoot, realFile);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      return refused(404, 'bad-path');
    }
    const info = await stat(realFile);
    if (!info.isFile()) return refused(404, 'not-found');
    if (info.size > MAX_APP_FILE_BYTES) return refused(404, 'too-large');
    const body = method === 'HEAD' ? undefined : new Uint8Array(await readFile(realFile));
    return {
      status: 200,
      headers: {
        ...baseHeaders(),
        'Content-Type': lookup.contentType,
      },
      body,
    };
  } catch {
    return refused(404, 'not-found');
  }
}
