/**
 * Errors thrown by the test-services harness.
 *
 * A missing binary is a ServiceUnavailableError naming the Debian package to install, so a
 * suite fails with a message that says exactly what to do (`npm run services:deps`).
 * A daemon that does not come up is a ServiceStartError carrying the tail of its output.
 */

export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
  readonly binary: string;
  readonly debianPackage: string;

  constructor(binary: string, debianPackage: string, searched: readonly string[]) {
    super(
      `${binary.includes('/') ? 'required file' : 'required command'} "${binary}" not found (searched ${searched.join(', ')}); ` +
        `install the Debian package "${debianPackage}" ` +
        `(sudo apt-get install -y ${debianPackage}, ` +
        `or run: npm run services:deps)`,
    );
    this.binary = binary;
    this.debianPackage = debianPackage;
  }
}

export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  readonly service: string;
  /** Last lines of the daemon's stdout/stderr and log file, if any. */
  readonly outputTail: string;

  constructor(service: string, message: string, outputTail: string, options?: ErrorOptions) {
    super(
      `${service}: ${message}` +
        (outputTail.trim() ? `\n--- ${service} output (tail) ---\n${outputTail.trimEnd()}` : ''),
      options,
    );
    this.service = service;
    this.outputTail = outputTail;
  }
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    command: string,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    stdout: string,
    stderr: string,
  ) {
    const status = signal ? `signal ${signal}` : `exit code ${String(exitCode)}`;
    const tail = (stderr.trim() || stdout.trim()).slice(-4000);
    super(`command failed (${status}): ${command}` + (tail ? `\n${tail}` : ''));
    this.command = command;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}
