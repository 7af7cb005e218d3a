// The `intake` command's entry (bin/intake.mjs runs it with tsx): parse, run, and turn any failure into
// one line on stderr and an exit code, never a stack trace. INTAKE_DEBUG=1 prints the stack as well.
import { describeFailure } from './errors';
import { createProgram } from './program';
import { note, processTerminal } from './output/terminal';

const terminal = processTerminal();
let exitCode = 0;
try {
  await createProgram(terminal).parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  const failure = describeFailure(error);
  if (failure.message) note(terminal, `intake: ${failure.message}`);
  if (process.env.INTAKE_DEBUG && error instanceof Error && error.stack) note(terminal, error.stack);
  exitCode = failure.exitCode;
}
// Idle keep-alive sockets and Prisma's pool would hold the process open for seconds: end now.
process.exit(exitCode);
