import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isIP } from 'node:net';
import { UsageError } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs in strict mode, with its errors turned into usage errors that name
 * the command. `--help` is accepted by every command.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  args: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    const message =
      error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    throw new UsageError(command, message.replace(/^Unknown option/, 'unknown option'));
  }
}

/**
 * HOST:PORT or [v6]:PORT split, the host without its brackets; undefined when it is not that
 * shape or the port is over 65535.
 */
export function splitHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) return undefined;
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** HOST:PORT, [v6]:PORT (the host as written, brackets kept). The port may be 0 (any free port). */
export function parseListen(
  command: string,
  value: string,
  flag = '--listen',
): { host: string; port: number } {
  const parsed = splitHostPort(value);
  if (parsed === undefined) {
    throw new UsageError(
      command,
      `${flag} wants HOST:PORT (for example 127.0.0.1:8787), not ${JSON.stringify(value)}`,
    );
  }
  return { host: value.slice(0, value.lastIndexOf(':')), port: parsed.port };
}

/**
 * A DNS server to ask: an IP address (IPv6 in brackets) and a port from 1. The host comes
 * back bare: the DNS client would look "[::1]" up as a host name.
 */
export function parseDnsServer(
  command: string,
  value: string,
  flag = '--dns',
): { host: string; port: number } {
  const parsed = splitHostPort(value);
  if (parsed === undefined || isIP(parsed.host) === 0 || parsed.port === 0) {
    throw new UsageError(
      command,
      `${flag} wants a DNS server's IP address and port (for example 192.0.2.53:53 or [2001:db8::53]:53), not ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}
