/**
 * The desktop app's own command line. Pure: unit-tested in plain Node.
 *
 *   --data-dir DIR   (or --data-dir=DIR) the profile root of this desktop instance: Chromium's
 *                    state goes to DIR, the HISP's to DIR/hisp. Default: Electron's userData
 *                    directory for the app. Different roots are different instances (the
 *                    single-instance lock lives there too).
 *   --smoke          start, check that the mail window gets the HISP's status through the
 *                    MessagePort, and exit 0 (or non-zero with the reason on stderr).
 *
 * Other arguments are ignored: Chromium switches and OS-added arguments (macOS -psn_*) arrive
 * on the same command line.
 */

export interface LaunchOptions {
  readonly smoke: boolean;
  readonly dataDir: string | undefined;
}

export type LaunchParse =
  | { readonly ok: true; readonly options: LaunchOptions }
  | { readonly ok: false; readonly problem: string };

const DATA_DIR = '--data-dir';

export function parseLaunchArgs(args: readonly string[]): LaunchParse {
  let smoke = false;
  let dataDir: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--smoke') {
      smoke = true;
      continue;
    }
    let value: string | undefined;
    if (arg === DATA_DIR) {
      value = args[index + 1];
      if (value === undefined || value.startsWith('-')) {
        return { ok: false, problem: `${DATA_DIR} needs a directory after it.` };
      }
      index++;
    } else if (arg.startsWith(`${DATA_DIR}=`)) {
      value = arg.slice(DATA_DIR.length + 1);
    } else {
      continue;
    }
    if (value.trim() === '')
      return { ok: false, problem: `${DATA_DIR} needs a directory after it.` };
    if (dataDir !== undefined)
      return { ok: false, problem: `${DATA_DIR} was given more than once.` };
    dataDir = value;
  }
  return { ok: true, options: { smoke, dataDir } };
}
