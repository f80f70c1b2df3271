/** What a command needs from the outside world, injected so commands run inside tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard input as bytes, refused beyond `limit` bytes. */
  readonly readStdin: (limit: number) => Promise<Buffer>;
  /** Binary standard output, honouring backpressure. */
  readonly writeStdout: (chunk: Uint8Array) => Promise<void>;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); tests resolve it themselves. */
  readonly stopSignal: Promise<string>;
  /** The repository or install root: where dist/ and node_modules/ are. */
  readonly root: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly command: string;

  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}
