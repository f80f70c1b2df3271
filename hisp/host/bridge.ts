/**
 * The loopback bridge: the API contract over HTTP and WebSocket for browser mode, the e2e
 * tests and the headless server. It listens on loopback only and demands a random bearer
 * token; it refuses foreign Origins (another web page in the user's browser) and foreign
 * Host headers (DNS rebinding). It also serves the built UI, whose page receives the token in
 * the URL fragment — never sent to any server — and passes it back in the WebSocket
 * subprotocol list, because browsers cannot set headers on a WebSocket.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import {
  STATUS_CODES,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, relative, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  ERROR_CODES,
  HispError,
  LIMITS,
  ResponseMessageSchema,
  WIRE_PROTOCOL,
  UI_CONTENT_SECURITY_POLICY,
  WebSocketTransport,
  createMemoryTransportPair,
  type ErrorCode,
} from '../api/index.js';
import type { Logger } from '../log/logger.js';
import type { ChannelServer } from './channelServer.js';

export interface BridgeOptions {
  readonly channel: ChannelServer;
  readonly logger: Logger;
  /** 127.0.0.1 (default), ::1 or localhost. Anything else is refused with NOT_LOOPBACK. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** The built UI (dist/renderer). Without it, `/` explains how to build it. */
  readonly uiDir?: string;
}

const LOOPBACK_NAMES = new Map([
  ['127.0.0.1', '127.0.0.1'],
  ['localhost', '127.0.0.1'],
  ['::1', '::1'],
  ['[::1]', '::1'],
]);

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const MAX_UI_FILES = 500;

/** HTTP statuses for the codes the bridge itself produces; others map by whose fix they are. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  USAGE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN_HOST: 403,
  NOT_LOOPBACK: 403,
  NOT_FOUND: 404,
  UNKNOWN_METHOD: 404,
  PAYLOAD_TOO_LARGE: 413,
  CANCELLED: 503,
  CHANNEL_CLOSED: 503,
  TIMEOUT: 504,
};

export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? (ERROR_CODES[code].userFixable ? 422 : 500);
}

export class Bridge {
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #options: BridgeOptions;
  readonly #logger: Logger;
  readonly #tokenDigest: Buffer;
  readonly #uiFiles: ReadonlyMap<string, string>;
  #allowedHosts: ReadonlySet<string> = new Set();
  #allowedOrigins: ReadonlySet<string> = new Set();
  #port = 0;
  #connectionCounter = 0;

  /** The bearer token. Hand it to the user's UI only; it is scrubbed from every log line. */
  readonly token: string;

  private constructor(options: BridgeOptions, uiFiles: ReadonlyMap<string, string>) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'bridge' });
    this.token = randomBytes(32).toString('hex');
    options.logger.addSecret(this.token);
    this.#tokenDigest = digest(this.token);
    this.#uiFiles = uiFiles;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIMITS.wireMessageChars * 3, // UTF-8 bytes for that many UTF-16 units
      handleProtocols: (protocols) => (protocols.has(WIRE_PROTOCOL) ? WIRE_PROTOCOL : false),
    });
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.#logger.error('request failed', { error });
        if (!res.headersSent) this.#sendError(res, HispError.from(error));
        else res.destroy();
      });
    });
    this.#server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  static async start(options: BridgeOptions): Promise<Bridge> {
    const requested = options.host ?? '127.0.0.1';
    const host = LOOPBACK_NAMES.get(requested);
    if (host === undefined) {
      throw new HispError(
        'NOT_LOOPBACK',
        `The bridge listens on loopback only; ${requested} is not loopback.`,
      );
    }
    const uiFiles = options.uiDir ? await indexUi(options.uiDir) : new Map<string, string>();
    const bridge = new Bridge(options, uiFiles);
    await bridge.#listen(host, options.port ?? 0);
    return bridge;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/`;
  }

  /** The address a person opens: the token travels in the fragment, which browsers never send. */
  get uiAddress(): string {
    return `${this.url}#token=${this.token}`;
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()));
      this.#server.closeAllConnections();
    });
  }

  async #listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(
          error.code === 'EADDRINUSE'
            ? new HispError('ADDRESS_IN_USE', `Port ${port} on ${host} is already in use.`, {
                cause: error,
              })
            : error,
        );
      };
      this.#server.once('error', onError);
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string')
      throw new HispError('INTERNAL', 'The bridge has no port.');
    this.#port = address.port;
    const hosts = [`127.0.0.1:${this.#port}`, `localhost:${this.#port}`, `[::1]:${this.#port}`];
    this.#allowedHosts = new Set(hosts);
    this.#allowedOrigins = new Set(hosts.map((h) => `http://${h}`));
    this.#logger.info('bridge listening', { host, port: this.#port, ui: this.#uiFiles.size > 0 });
  }

  /** Host and Origin checks shared by HTTP and WebSocket. */
  #checkCaller(req: IncomingMessage): HispError | undefined {
    const host = req.headers.host;
    if (host === undefined || !this.#allowedHosts.has(host.toLowerCase())) {
      return new HispError('FORBIDDEN_HOST');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#allowedOrigins.has(origin.toLowerCase())) {
      return new HispError('FORBIDDEN_ORIGIN');
    }
    return undefined;
  }

  #tokenMatches(candidate: string | undefined): boolean {
    if (candidate === undefined || candidate.length === 0 || candidate.length > 256) return false;
    return timingSafeEqual(digest(candidate), this.#tokenDigest);
  }

  #bearerFromHeader(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    return match?.[1];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = this.#checkCaller(req);
    if (refused) {
      this.#logger.warn('refused a request', {
        code: refused.code,
        method: req.method,
        remote: req.socket.remoteAddress,
      });
      this.#sendError(res, refused);
      req.resume();
      return;
    }
    const path = pathOf(req.url);
    if (path.startsWith('/api/')) {
      await this.#handleApi(req, res, path);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.#sendError(res, new HispError('NOT_FOUND'));
      return;
    }
    await this.#serveUi(req, res, path);
  }

  async #handleApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!this.#tokenMatches(this.#bearerFromHeader(req))) {
      this.#logger.warn('refused a request without a valid token', {
        path: '/api/…',
        remote: req.socket.remoteAddress,
      });
      res.setHeader('www-authenticate', 'Bearer realm="sealpost"');
      this.#sendError(res, new HispError('UNAUTHORIZED'));
      req.resume();
      return;
    }
    const match = /^\/api\/call\/([A-Za-z][A-Za-z0-9.]{0,63})$/.exec(path);
    if (!match?.[1] || req.method !== 'POST') {
      this.#sendError(res, new HispError('NOT_FOUND'));
      req.resume();
      return;
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/json(\s*;|$)/i.test(contentType)) {
      // Also closes the door on form posts, which browsers send without a preflight.
      this.#sendError(res, new HispError('BAD_REQUEST', 'Calls must be sent as application/json.'));
      req.resume();
      return;
    }
    const body = await readBody(req, LIMITS.bridgeRequestBytes);
    let params: unknown = {};
    if (body.length > 0) {
      try {
        params = JSON.parse(body.toString('utf8'));
      } catch {
        throw new HispError('BAD_REQUEST', 'The request body is not valid JSON.');
      }
    }
    const answer = await this.#callOnce(match[1], params);
    if (answer.ok) {
      this.#sendJson(res, 200, { ok: true, result: answer.result });
    } else {
      this.#sendJson(res, httpStatusFor(answer.error.code), { ok: false, error: answer.error });
    }
  }

  /** One HTTP call runs through the same channel server as every other connection. */
  async #callOnce(method: string, params: unknown) {
    const [serverSide, clientSide] = createMemoryTransportPair();
    this.#options.channel.attach(serverSide, `http#${++this.#connectionCounter}`);
    try {
      return await new Promise<ReturnType<typeof ResponseMessageSchema.parse>>(
        (resolve, reject) => {
          clientSide.onMessage((raw) => {
            const parsed = ResponseMessageSchema.safeParse(raw);
            if (parsed.success && parsed.data.id === 1) resolve(parsed.data);
          });
          clientSide.onClose(() => reject(new HispError('CHANNEL_CLOSED')));
          clientSide.send({ t: 'req', id: 1, method, params });
        },
      );
    } finally {
      clientSide.close();
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const fail = (status: number, error: HispError): void => {
      this.#logger.warn('refused a WebSocket', {
        code: error.code,
        remote: req.socket.remoteAddress,
      });
      const body = JSON.stringify({ ok: false, error: error.toJSON() });
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
          'Connection: close\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    const refused = this.#checkCaller(req);
    if (refused) return fail(403, refused);
    if (pathOf(req.url) !== '/api/ws') return fail(404, new HispError('NOT_FOUND'));
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const fromProtocol = offered
      .find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX))
      ?.slice(BEARER_PROTOCOL_PREFIX.length);
    if (!this.#tokenMatches(this.#bearerFromHeader(req) ?? fromProtocol)) {
      return fail(401, new HispError('UNAUTHORIZED'));
    }
    if (!offered.includes(WIRE_PROTOCOL)) {
      return fail(
        400,
        new HispError('BAD_REQUEST', `The WebSocket must offer the ${WIRE_PROTOCOL} subprotocol.`),
      );
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const label = `ws#${++this.#connectionCounter}`;
      ws.on('error', (error) => this.#logger.warn('WebSocket error', { conn: label, error }));
      const transport = new WebSocketTransport(ws, {
        onMalformed: (error) =>
          this.#logger.warn('dropped a malformed WebSocket message', {
            conn: label,
            code: error.code,
          }),
      });
      this.#options.channel.attach(transport, label);
    });
  }

  async #serveUi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (this.#uiFiles.size === 0) {
      this.#sendText(res, 503, 'The Sealpost UI is not built here. Run: npm run build\n');
      return;
    }
    const file = this.#uiFiles.get(path === '/' ? '/index.html' : path);
    if (file === undefined) {
      this.#sendError(res, new HispError('NOT_FOUND'));
      return;
    }
    const content = await readFile(file);
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': type,
      'content-length': content.byteLength,
      ...(type.startsWith('text/html')
        ? { 'content-security-policy': UI_CONTENT_SECURITY_POLICY }
        : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : content);
  }

  #sendError(res: ServerResponse, error: HispError): void {
    this.#sendJson(res, httpStatusFor(error.code), { ok: false, error: error.toJSON() });
  }

  #sendJson(res: ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  #sendText(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function pathOf(url: string | undefined): string {
  // Only the path matters; the base is never used to reach anything.
  try {
    return new URL(url ?? '/', 'http://bridge.invalid').pathname;
  } catch {
    return '/';
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw new HispError('PAYLOAD_TOO_LARGE');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > limit) {
      req.destroy();
      throw new HispError('PAYLOAD_TOO_LARGE');
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The built UI as a fixed map from URL path to file, read once at start: only files that
 * were there at start are served, so no request path ever reaches the file system.
 */
async function indexUi(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (files.size >= MAX_UI_FILES) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.set(`/${relative(root, full).split(sep).join('/')}`, full);
    }
  };
  try {
    await walk(root);
  } catch {
    return new Map();
  }
  return files.has('/index.html') ? files : new Map();
}
