import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  HispClient,
  HispError,
  LIMITS,
  UI_CONTENT_SECURITY_POLICY,
  WIRE_PROTOCOL,
  WebSocketTransport,
} from '../../hisp/api/index.js';
import { Bridge } from '../../hisp/host/bridge.js';
import { Hisp } from '../../hisp/host/hisp.js';
import { createLogger } from '../../hisp/log/logger.js';

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', sink: (line) => logLines.push(line) });
let hisp: Hisp;
let bridge: Bridge;
let uiDir: string;
let origin: string;

beforeAll(async () => {
  uiDir = await mkdtemp(join(tmpdir(), 'sealpost-bridge-ui-'));
  await mkdir(join(uiDir, 'assets'));
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><div id="root"></div>');
  await writeFile(join(uiDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(tmpdir(), 'sealpost-bridge-outside.txt'), 'outside');
  hisp = new Hisp({ mode: 'demo', profile: { name: 'bridge-test', throwaway: true }, logger });
  bridge = await Bridge.start({ channel: hisp.channel, logger, uiDir });
  hisp.start();
  origin = `http://127.0.0.1:${bridge.port}`;
});

afterAll(async () => {
  await bridge.close();
  hisp.stop();
  await rm(uiDir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'sealpost-bridge-outside.txt'), { force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so Host and Origin can be anything (fetch forbids setting them). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: bridge.port,
        method,
        path,
        headers: { host: `127.0.0.1:${bridge.port}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const auth = () => ({ authorization: `Bearer ${bridge.token}` });
const errorCode = (r: RawResponse) =>
  (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe('bridge HTTP calls', () => {
  it('answers a call with the token', async () => {
    const r = await raw('POST', '/api/call/status', { ...json, ...auth() }, '{}');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      ok: true,
      result: { product: 'sealpost', state: 'ready' },
    });
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('refuses a request without the token (401)', async () => {
    const r = await raw('POST', '/api/call/status', json, '{}');
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHORIZED');
    expect(r.headers['www-authenticate']).toContain('Bearer');
  });

  it('refuses a wrong token (401), including one of the right length', async () => {
    const wrong = bridge.token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    for (const token of [wrong, 'x', '']) {
      const r = await raw(
        'POST',
        '/api/call/status',
        { ...json, authorization: `Bearer ${token}` },
        '{}',
      );
      expect(r.status, token).toBe(401);
    }
  });

  it('refuses a foreign Origin even with the token (403)', async () => {
    for (const foreign of [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${bridge.port + 1}`,
      `https://127.0.0.1:${bridge.port}`,
    ]) {
      const r = await raw(
        'POST',
        '/api/call/status',
        { ...json, ...auth(), origin: foreign },
        '{}',
      );
      expect(r.status, foreign).toBe(403);
      expect(errorCode(r)).toBe('FORBIDDEN_ORIGIN');
    }
  });

  it('accepts its own origin', async () => {
    const r = await raw('POST', '/api/call/status', { ...json, ...auth(), origin }, '{}');
    expect(r.status).toBe(200);
  });

  it('refuses a foreign Host header, as DNS rebinding would send (403)', async () => {
    const r = await raw(
      'POST',
      '/api/call/status',
      { ...json, ...auth(), host: `evil.example:${bridge.port}` },
      '{}',
    );
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('FORBIDDEN_HOST');
  });

  it('refuses non-JSON bodies, which browsers could post cross-site without a preflight', async () => {
    const r = await raw(
      'POST',
      '/api/call/status',
      { ...auth(), 'content-type': 'text/plain' },
      '{}',
    );
    expect(r.status).toBe(400);
    expect(errorCode(r)).toBe('BAD_REQUEST');
  });

  it('refuses malformed JSON, bad parameters, unknown calls and oversized bodies with typed errors', async () => {
    expect(errorCode(await raw('POST', '/api/call/status', { ...json, ...auth() }, '{'))).toBe(
      'BAD_REQUEST',
    );
    expect(
      errorCode(await raw('POST', '/api/call/status', { ...json, ...auth() }, '{"x":1}')),
    ).toBe('BAD_REQUEST');
    const unknown = await raw('POST', '/api/call/deleteAll', { ...json, ...auth() }, '{}');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('UNKNOWN_METHOD');
    const big = await raw(
      'POST',
      '/api/call/status',
      { ...json, ...auth() },
      Buffer.alloc(LIMITS.bridgeRequestBytes + 1, 32),
    );
    expect(big.status).toBe(413);
    expect(errorCode(big)).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('bridge WebSocket', () => {
  function open(protocols: string[], headers: Record<string, string> = { origin }) {
    return new WebSocket(`ws://127.0.0.1:${bridge.port}/api/ws`, protocols, { headers });
  }
  function refusal(ws: WebSocket): Promise<number> {
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the bridge accepted the WebSocket')));
      ws.once('error', () => undefined);
    });
  }

  it('serves the contract with the token in the subprotocol, selecting only the wire protocol', async () => {
    const ws = open([WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + bridge.token]);
    // Listen before the socket opens: the HISP greets each connection with a status event,
    // which can arrive in the same packet as the handshake.
    const client = new HispClient(new WebSocketTransport(ws));
    const firstEvent = new Promise((resolve) => client.on('status', resolve));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe(WIRE_PROTOCOL); // the token is never echoed back
    await expect(client.call('status', {})).resolves.toMatchObject({ state: 'ready' });
    await expect(firstEvent).resolves.toMatchObject({ product: 'sealpost' });
    client.close();
  });

  it('refuses a WebSocket without the token (401)', async () => {
    expect(await refusal(open([WIRE_PROTOCOL]))).toBe(401);
    expect(await refusal(open([WIRE_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}nope`]))).toBe(401);
  });

  it('refuses a WebSocket from a foreign Origin even with the token (403)', async () => {
    const ws = open([WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + bridge.token], {
      origin: 'http://evil.example',
    });
    expect(await refusal(ws)).toBe(403);
  });

  it('drops binary and non-JSON frames without answering or closing', async () => {
    const ws = open([WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + bridge.token]);
    await new Promise((resolve) => ws.once('open', resolve));
    const client = new HispClient(new WebSocketTransport(ws));
    ws.send(Buffer.from([1, 2, 3]));
    ws.send('not json');
    await expect(client.call('status', {})).resolves.toMatchObject({ state: 'ready' });
    client.close();
  });
});

describe('bridge UI files', () => {
  it('serves the UI with a strict CSP and security headers', async () => {
    const r = await raw('GET', '/', {});
    expect(r.status).toBe(200);
    expect(r.body).toContain('<div id="root">');
    expect(r.headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    const asset = await raw('GET', '/assets/app.js', {});
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
  });

  it('serves nothing outside the files present at start', async () => {
    for (const path of [
      '/../sealpost-bridge-outside.txt',
      '/%2e%2e/sealpost-bridge-outside.txt',
      '/assets/../../x',
      '/etc/passwd',
    ]) {
      const r = await raw('GET', path, {});
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('outside');
    }
  });
});

describe('bridge listening', () => {
  it('refuses a non-loopback address with NOT_LOOPBACK', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.org']) {
      const error = await Bridge.start({ channel: hisp.channel, logger, host }).then(
        () => new Error('started'),
        (e: unknown) => e,
      );
      expect(error, host).toBeInstanceOf(HispError);
      expect((error as HispError).code).toBe('NOT_LOOPBACK');
    }
  });

  it('reports a port in use as ADDRESS_IN_USE', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await Bridge.start({ channel: hisp.channel, logger, port }).then(
        () => new Error('started'),
        (e: unknown) => e,
      );
      expect((error as HispError).code).toBe('ADDRESS_IN_USE');
    } finally {
      blocker.close();
    }
  });

  it('never writes the token into the log', () => {
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.join('\n')).not.toContain(bridge.token);
  });
});

describe('one Content-Security-Policy for the UI', () => {
  it('renderer/index.html carries the same policy as its <meta> (less frame-ancestors, header-only)', async () => {
    const html = await readFile(
      join(import.meta.dirname, '..', '..', 'renderer', 'index.html'),
      'utf8',
    );
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(UI_CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", ''));
  });
});
