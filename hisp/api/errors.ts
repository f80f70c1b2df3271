/**
 * The registry of stable error codes. Every error that crosses the API contract, the bridge
 * or the command line carries one of these codes. A code is never renamed or reused: the UI,
 * support scripts and IT tooling key on it. `userFixable` says whether the person at the desk
 * (or their IT staff) can fix it — the UI shows the description and a fix — or whether it is
 * a bug in Sealpost, which the UI reports as such.
 */
export interface ErrorCodeInfo {
  readonly description: string;
  readonly userFixable: boolean;
}

export const ERROR_CODES = {
  BAD_REQUEST: {
    description: 'The request did not match the API contract.',
    userFixable: false,
  },
  BAD_RESPONSE: {
    description: 'The HISP answered with data that did not match the API contract.',
    userFixable: false,
  },
  UNKNOWN_METHOD: {
    description: 'The request named a call that the HISP does not offer.',
    userFixable: false,
  },
  INTERNAL: {
    description: 'An unexpected error inside the HISP.',
    userFixable: false,
  },
  CANCELLED: {
    description: 'The call was cancelled before it finished.',
    userFixable: false,
  },
  TIMEOUT: {
    description: 'The HISP did not answer in time.',
    userFixable: false,
  },
  CHANNEL_CLOSED: {
    description: 'The connection between the mail window and the HISP was closed.',
    userFixable: false,
  },
  UNAUTHORIZED: {
    description:
      'The request carried no valid access token. Open Sealpost from the address it printed, which includes the token.',
    userFixable: true,
  },
  FORBIDDEN_ORIGIN: {
    description: 'The request came from a web page that is not Sealpost, so it was refused.',
    userFixable: true,
  },
  FORBIDDEN_HOST: {
    description:
      'The request named a host other than this computer (127.0.0.1 or localhost), so it was refused.',
    userFixable: true,
  },
  PAYLOAD_TOO_LARGE: {
    description: 'The request was larger than the HISP accepts.',
    userFixable: false,
  },
  NOT_FOUND: {
    description: 'No such address on the HISP bridge.',
    userFixable: false,
  },
  USAGE: {
    description: 'The command line was not understood. Run the command with --help.',
    userFixable: true,
  },
  ADDRESS_IN_USE: {
    description:
      'The port asked for is already in use. Choose another port or stop the other program.',
    userFixable: true,
  },
  NOT_LOOPBACK: {
    description:
      'The HISP bridge only listens on this computer (127.0.0.1, ::1 or localhost); another address was asked for.',
    userFixable: true,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The wire form of an error: what crosses the channel, the bridge and `--report` files. */
export interface SerializedError {
  readonly name: 'HispError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly userFixable: boolean;
}

/**
 * An error with a registry code. `message` is for people and must never hold message
 * content or secrets; `cause` stays on this side of the channel and is never serialised.
 */
export class HispError extends Error {
  override readonly name = 'HispError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].description, options);
    this.code = code;
  }

  get userFixable(): boolean {
    return ERROR_CODES[this.code].userFixable;
  }

  toJSON(): SerializedError {
    return {
      name: 'HispError',
      code: this.code,
      message: this.message,
      userFixable: this.userFixable,
    };
  }

  static fromSerialized(error: SerializedError): HispError {
    return new HispError(error.code, error.message);
  }

  /** Any thrown value as a HispError: HispErrors pass through, anything else is INTERNAL. */
  static from(error: unknown): HispError {
    if (error instanceof HispError) return error;
    return new HispError('INTERNAL', undefined, { cause: error });
  }
}

/** For exhaustive switches: a value the type system says cannot exist. */
export function missingCaseError(value: never): Error {
  return new Error(`Unhandled case: ${String(value)}`);
}
