/**
 * `sealpost`: the command line. A public contract (DESIGN.md §8): tests, IT scripts and
 * support use it. Every subcommand has --help; a bad flag is a usage error (exit 1) that
 * says what is wrong.
 */
import { HispError } from '../api/errors.js';
import { VERSION } from '../host/version.js';
import { UsageError, type CliIo } from './io.js';
import { parseCommandArgs } from './args.js';

export const MAIN_HELP = `Sealpost ${VERSION} — Direct secure health messaging with its own HISP

Usage: sealpost <command> [options]

Commands:
  anchors   the profile's trust anchors, per local domain and direction (import|list|remove)
  bundles   trust bundles from a URL or file, signer-checked and refreshed (add|refresh|list|remove)
  certs     find a Direct address's certificates (discover); publish yours (zone)
  demo      start a HISP with a throwaway profile and open the mail UI
  profile   create a profile: its key in the keychain, its encrypted database (init)
  serve     run the HISP headless for a practice server
  smime     sign+encrypt or decrypt+verify a Direct message (encrypt|decrypt)
  version   print the version

Run 'sealpost <command> --help' for a command's options.
`;

const VERSION_HELP = `Usage: sealpost version

Print Sealpost's version and the Node.js it runs on.
`;

interface Command {
  readonly help: string;
  readonly run: (args: readonly string[], io: CliIo) => Promise<number>;
}

/**
 * Each command's module is loaded only when that command runs, so `smime` in a pipeline does
 * not pay for the web server and `version` pays for nothing.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  anchors: async () => {
    const { anchorsCommand, ANCHORS_HELP } = await import('./anchors.js');
    return { help: ANCHORS_HELP, run: anchorsCommand };
  },
  bundles: async () => {
    const { bundlesCommand, BUNDLES_HELP } = await import('./bundles.js');
    return { help: BUNDLES_HELP, run: bundlesCommand };
  },
  certs: async () => {
    const { certsCommand, CERTS_HELP } = await import('./certs.js');
    return { help: CERTS_HELP, run: certsCommand };
  },
  demo: async () => {
    const { demoCommand, DEMO_HELP } = await import('./demo.js');
    return { help: DEMO_HELP, run: demoCommand };
  },
  profile: async () => {
    const { profileCommand, PROFILE_HELP } = await import('./profile.js');
    return { help: PROFILE_HELP, run: profileCommand };
  },
  serve: async () => {
    const { serveCommand, SERVE_HELP } = await import('./serve.js');
    return { help: SERVE_HELP, run: serveCommand };
  },
  smime: async () => {
    const { smimeCommand, SMIME_HELP } = await import('./smime.js');
    return { help: SMIME_HELP, run: smimeCommand };
  },
  version: () =>
    Promise.resolve({
      help: VERSION_HELP,
      run: (args, io) => {
        parseCommandArgs('version', args, {});
        io.stdout(`sealpost ${VERSION} (Node.js ${process.version})\n`);
        return Promise.resolve(0);
      },
    }),
};

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(MAIN_HELP);
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') return runCli(['version'], io);
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr(
      `sealpost: unknown command ${JSON.stringify(name)}\nRun 'sealpost --help' for the list of commands.\n`,
    );
    return 1;
  }
  const command = await load();
  // `sealpost profile <sub> --help` is the subcommand's own help: profile answers it.
  const ownsSubcommandHelp =
    name === 'profile' && rest[0] !== undefined && !rest[0].startsWith('-');
  if (!ownsSubcommandHelp && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `sealpost ${error.command}: ${error.message}\nRun 'sealpost ${error.command} --help' for usage.\n`,
      );
      return 1;
    }
    const hispError = HispError.from(error);
    io.stderr(`sealpost ${name}: ${hispError.message} [${hispError.code}]\n`);
    if (hispError.code === 'INTERNAL' && error instanceof Error)
      io.stderr(`${error.stack ?? error.message}\n`);
    return hispError.code === 'USAGE' ? 1 : 2;
  }
}
