import { describe, expect, it } from 'vitest';
import { CONTENT_REDACTED, REDACTED, createLogger } from '../../hisp/log/logger.js';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    sink: (line) => lines.push(line),
    now: () => new Date('2026-01-02T03:04:05Z'),
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('logger', () => {
  it('writes one JSON line per record with time, level, bindings and message', () => {
    const { logger, records } = capture();
    logger.child({ component: 'bridge' }).info('listening', { port: 8080 });
    expect(records()).toEqual([
      {
        time: '2026-01-02T03:04:05.000Z',
        level: 'info',
        component: 'bridge',
        port: 8080,
        msg: 'listening',
      },
    ]);
  });

  it('drops records below the level', () => {
    const { logger, lines } = capture('warn');
    logger.debug('a');
    logger.info('b');
    logger.warn('c');
    expect(lines).toHaveLength(1);
  });

  it('redacts secret-like keys at any depth', () => {
    const { logger, lines, records } = capture();
    logger.info('auth', {
      password: 'hunter2-hunter2',
      relay: { user: 'dr.who', pass: 'p4ss-w0rd!', authorization: 'Bearer abc' },
      token: 'tok',
      privateKey: '-----BEGIN PRIVATE KEY-----',
    });
    const [record] = records();
    expect(record?.['password']).toBe(REDACTED);
    expect(record?.['relay']).toEqual({ user: 'dr.who', pass: REDACTED, authorization: REDACTED });
    expect(record?.['token']).toBe(REDACTED);
    expect(record?.['privateKey']).toBe(REDACTED);
    expect(lines.join('\n')).not.toMatch(/hunter2|p4ss|BEGIN PRIVATE/);
  });

  it('never writes message content (subject, body, attachments, params)', () => {
    const { logger, lines, records } = capture();
    logger.info('received', {
      messageId: '<1@example.test>',
      size: 1234,
      subject: 'Lab results for Jane Doe',
      body: 'HbA1c 9.1%',
      attachments: [{ filename: 'ccd.xml' }],
      params: { to: 'x' },
    });
    const [record] = records();
    expect(record?.['messageId']).toBe('<1@example.test>');
    expect(record?.['size']).toBe(1234);
    expect(record?.['subject']).toBe(CONTENT_REDACTED);
    expect(lines.join('\n')).not.toMatch(/Jane Doe|HbA1c|ccd\.xml/);
  });

  it('scrubs registered secrets from messages, fields and errors, across child loggers', () => {
    const { logger, lines } = capture();
    const token = 'a'.repeat(16) + 'f00dfeed';
    const child = logger.child({ component: 'x' });
    logger.addSecret(token);
    child.warn(`refused ${token}`, {
      url: `http://127.0.0.1/#token=${token}`,
      error: new Error(`bad ${token}`),
    });
    expect(lines.join('\n')).not.toContain(token);
    expect(lines.join('\n')).toContain(REDACTED);
  });

  it('shows bytes by length, bounds long strings, deep nesting and wide objects', () => {
    const { logger, records } = capture();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    logger.info('shapes', { der: new Uint8Array(4096), long: 'x'.repeat(5000), deep, wide });
    const [record] = records();
    expect(record?.['der']).toBe('[4096 bytes]');
    expect(String(record?.['long']).length).toBeLessThan(1100);
    expect(JSON.stringify(record?.['deep'])).toContain('[depth limit]');
    expect(Object.keys(record?.['wide'] as object).length).toBeLessThanOrEqual(51);
  });

  it('serialises errors with name, code and message', () => {
    const { logger, records } = capture();
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    logger.error('relay down', { error });
    const logged = records()[0]?.['error'] as Record<string, unknown>;
    expect(logged['name']).toBe('Error');
    expect(logged['code']).toBe('ECONNREFUSED');
    expect(logged['message']).toBe('connect ECONNREFUSED');
  });
});
