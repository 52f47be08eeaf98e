/** What a command's action may do to the outside world: write output, set the exit code. */
export interface CliContext {
  exitCode: number;
  out(text: string): void;
  err(text: string): void;
}

/** A bad input found after flag parsing (a file, a name): one line, exit 2, nothing written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
