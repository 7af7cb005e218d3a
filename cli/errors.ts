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
  return { message: withCauses(error), exitCode: 1 };
}

/**
 * The message and its causes on one line: a Temporal failure says only "Workflow execution failed",
 * and why (the activity's failure, and what it met) is in its cause chain.
 */
function withCauses(error: unknown): string {
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !messages.includes(message)) messages.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return messages.join(': ');
}
