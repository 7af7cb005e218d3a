import { CommanderError } from 'commander';

/** A failure the CLI explains in one line and ends on; `exitCode` 2 is a usage error, as for commander's. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The API's own answer `{ error: { code, message, requestId } }`, kept whole for callers that branch on it. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly requestId: string | null,
    /** From Retry-After on a 429 or 503. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(`${apiMessage} (${status} ${code}${requestId ? `, request ${requestId}` : ''})`);
  }
}

/** The request never got an answer: nothing listens at the URL, DNS failed, the connection broke. */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
}

/** What to print and which code to exit with, for anything an action threw: never a stack trace. */
export function describeFailure(error: unknown): { message: string | null; exitCode: number } {
  // Commander printed its own message (unknown option, missing argument) or the help already.
  if (error instanceof CommanderError) {
    return { message: null, exitCode: error.exitCode === 0 ? 0 : 2 };
  }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const message = error instanceof Error ? error.message : String(error);
  return { message, exitCode: 1 };
}
