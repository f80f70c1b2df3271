import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { createHttpFetcher, isNonPublicAddress } from '../../hisp/certs/fetch.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { captureLogger, startFileServer, type FileServer } from './certs-fixtures.js';
import { hispErrorOf as failure } from '../services/hispErrors.js';

describe('createHttpFetcher against a loopback server', () => {
  let server: FileServer;
  let streamed = 0;
  let streamClosedEarly = false;

  beforeAll(async () => {
    server = await startFileServer();
    server.set('/ok', { body: 'hello' });
    server.set('/secret-path-token-123', { body: 'gone', status: 404 });
    server.set('/error', { body: 'oops', status: 500 });
    server.set('/r1', { body: '', status: 302, headers: { location: '/r2' } });
    server.set('/r2', { body: '', status: 301, headers: { location: `${server.origin}/r3` } });
    server.set('/r3', { body: '', status: 307, headers: { location: 'ok' } });
    server.set('/loop', { body: '', status: 302, headers: { location: '/loop' } });
    server.set('/to-ftp', { body: '', status: 302, headers: { location: 'ftp://127.0.0.1/x' } });
    server.set('/no-location', { body: '', status: 302 });
    server.set('/declared-big', { body: 'x'.repeat(2000) });
    server.set('/endless', (request, response) => {
      // No Content-Length: chunked, and it never ends by itself.
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const timer = setInterval(() => {
        streamed += chunk.length;
        response.write(chunk);
      }, 1);
      response.on('close', () => {
        clearInterval(timer);
        if (!response.writableEnded) streamClosedEarly = true;
      });
      request.on('close', () => clearInterval(timer));
    });
    server.set('/silent', () => {
      // Never answers.
    });
    server.set('/truncated', (_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('only ten b');
      setTimeout(() => response.socket?.destroy(), 20);
    });
  });
  afterAll(() => server.close());

  const fetcher = () => createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 2000 });

  it('returns the body of a 200', async () => {
    const body = await fetcher().get(server.url('/ok'), { maxBytes: 100 });
    expect(body.toString()).toBe('hello');
  });

  it('follows up to three redirects (relative, absolute, 301/302/307)', async () => {
    const body = await fetcher().get(server.url('/r1'), { maxBytes: 100 });
    expect(body.toString()).toBe('hello');
  });

  it('refuses more redirects than allowed', async () => {
    const error = await failure(fetcher().get(server.url('/loop'), { maxBytes: 100 }));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('more than 3 redirects');
    const strict = createHttpFetcher({ logger: createSilentLogger(), redirects: 2 });
    expect((await failure(strict.get(server.url('/r1'), { maxBytes: 100 }))).code).toBe(
      'FETCH_FAILED',
    );
  });

  it('refuses a redirect to another scheme, and a redirect without Location', async () => {
    const ftp = await failure(fetcher().get(server.url('/to-ftp'), { maxBytes: 100 }));
    expect(ftp.code).toBe('FETCH_FAILED');
    expect(ftp.message).toContain('ftp scheme');
    expect((await failure(fetcher().get(server.url('/no-location'), { maxBytes: 100 }))).code).toBe(
      'FETCH_FAILED',
    );
  });

  it('a status other than 200 is FETCH_FAILED naming the host only, never the path', async () => {
    const error = await failure(
      fetcher().get(server.url('/secret-path-token-123?q=token'), { maxBytes: 100 }),
    );
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('HTTP 404');
    expect(error.message).toContain(new URL(server.origin).host);
    expect(error.message).not.toContain('secret-path');
    expect(error.message).not.toContain('token');
    expect(
      (await failure(fetcher().get(server.url('/error'), { maxBytes: 100 }))).message,
    ).toContain('HTTP 500');
  });

  it('only http and https: other schemes fail without a connection', async () => {
    for (const url of [
      'ftp://127.0.0.1/ca.der',
      'file:///etc/passwd',
      'ldap://127.0.0.1/cn=x',
      'not a url',
    ]) {
      const error = await failure(fetcher().get(url, { maxBytes: 100 }));
      expect(error.code, url).toBe('FETCH_FAILED');
    }
  });

  it('refuses a declared Content-Length above maxBytes', async () => {
    const error = await failure(fetcher().get(server.url('/declared-big'), { maxBytes: 1000 }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
  });

  it('aborts a body growing past maxBytes while it is arriving, not after', async () => {
    const started = Date.now();
    const error = await failure(fetcher().get(server.url('/endless'), { maxBytes: 64 * 1024 }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(streamClosedEarly).toBe(true);
    // The server stopped soon after the limit: nowhere near an unbounded download.
    expect(streamed).toBeLessThan(16 * 1024 * 1024);
  });

  it('times out a server that never answers', async () => {
    const quick = createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 150 });
    const started = Date.now();
    const error = await failure(quick.get(server.url('/silent'), { maxBytes: 100 }));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('150 ms');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a connection closed before the whole body arrived is FETCH_FAILED', async () => {
    const error = await failure(fetcher().get(server.url('/truncated'), { maxBytes: 1000 }));
    expect(error.code).toBe('FETCH_FAILED');
  });

  it('a refused connection is FETCH_FAILED and logged with the host', async () => {
    const { logger, records } = captureLogger();
    const closed = await startFileServer();
    const url = closed.url('/x');
    await closed.close();
    const error = await failure(createHttpFetcher({ logger }).get(url, { maxBytes: 100 }));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    const line = records().find((r) => r['msg'] === 'fetch failed');
    expect(line).toMatchObject({
      component: 'certs.fetch',
      code: 'FETCH_FAILED',
      host: new URL(url).host,
    });
  });
});

describe('publicOnly: no fetches into the local network (SSRF)', () => {
  let server: FileServer;
  beforeAll(async () => {
    server = await startFileServer();
    server.set('/ca.der', { body: Buffer.from('certificate bytes') });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.5.4', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true], // cloud metadata
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['::1', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['example.org', false], // not an address: names are checked when they resolve
  ])('isNonPublicAddress(%s) is %s', (address, expected) => {
    expect(isNonPublicAddress(address)).toBe(expected);
  });

  it('refuses a loopback address and a name resolving to one, before connecting; allows it when off', async () => {
    const guarded = createHttpFetcher({ logger: createSilentLogger(), publicOnly: true });
    const before = server.hits('/ca.der');
    for (const url of [
      server.url('/ca.der'),
      server.url('/ca.der').replace('127.0.0.1', 'localhost'),
    ]) {
      const error = await guarded.get(url, { maxBytes: 1024 }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, url).toBeInstanceOf(HispError);
      expect((error as HispError).code).toBe('FETCH_FAILED');
      expect((error as HispError).message).toMatch(/not a public address/);
    }
    expect(server.hits('/ca.der')).toBe(before);
    const open = createHttpFetcher({ logger: createSilentLogger() });
    expect((await open.get(server.url('/ca.der'), { maxBytes: 1024 })).toString()).toBe(
      'certificate bytes',
    );
  });
});
