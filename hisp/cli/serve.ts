import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createLogger } from '../log/logger.js';
import { startHeadless } from '../host/headless.js';
import { parseCommandArgs, parseListen } from './args.js';
import { UsageError, type CliIo } from './io.js';

export const SERVE_HELP = `Usage: sealpost serve --profile DIR [--listen HOST:PORT]

Run the HISP headless, for a practice server. The mail UI and the API are served on a
loopback address only (reach it from elsewhere through an SSH tunnel or a reverse proxy).

Options:
  --profile DIR        the profile directory (created with mode 700 if missing)
  --listen HOST:PORT   loopback address for the UI and API bridge
                       (default 127.0.0.1:0, any free port)
  -h, --help           show this help

When the bridge listens, DIR/bridge.json (mode 600) holds {"url", "token", "pid"}: open
the url with '#token=<token>' appended. The token is never printed or logged. SIGINT or
SIGTERM stops the HISP and removes bridge.json.
`;

export const BRIDGE_FILE = 'bridge.json';

export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('serve', args, {
    profile: { type: 'string' },
    listen: { type: 'string' },
  });
  if (values.profile === undefined || values.profile === '') {
    throw new UsageError('serve', '--profile DIR is required');
  }
  const listen = parseListen('serve', values.listen ?? '127.0.0.1:0');
  const profileDir = resolve(values.profile);
  await mkdir(profileDir, { recursive: true, mode: 0o700 });

  const logger = createLogger({
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-serve' },
  });
  const running = await startHeadless({
    mode: 'server',
    profileName: basename(profileDir),
    throwaway: false,
    host: listen.host,
    port: listen.port,
    root: io.root,
    logger,
  });
  const bridgeFile = join(profileDir, BRIDGE_FILE);
  try {
    await writePrivateFile(
      bridgeFile,
      `${JSON.stringify({ url: running.bridge.url, token: running.bridge.token, pid: process.pid })}\n`,
    );
    io.stdout(
      `Sealpost HISP serving ${running.bridge.url} (profile ${profileDir}); the access token is in ${bridgeFile}\n`,
    );
    const signal = await io.stopSignal;
    logger.info('stopping', { signal });
  } finally {
    await running.stop();
    await rm(bridgeFile, { force: true });
  }
  return 0;
}

/** Written whole or not at all, readable by the owner only. */
async function writePrivateFile(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}
