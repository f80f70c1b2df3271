import { parseArgs, type ParseArgsConfig } from 'node:util';
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

/** HOST:PORT, [v6]:PORT. The port may be 0 (any free port). */
export function parseListen(command: string, value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(
      command,
      `--listen wants HOST:PORT (for example 127.0.0.1:8787), not ${JSON.stringify(value)}`,
    );
  }
  return { host: match[1], port };
}
