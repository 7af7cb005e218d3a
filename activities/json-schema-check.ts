import { runBoundedThread, type Bounded, type ThreadLimits } from '../lib/bounded-thread';
import { AJV_OPTIONS, MAX_VALIDATION_ERRORS, type ValidationError } from '../lib/json-schema';

/** How a JSON document fares against a schema, or why it could not be checked. */
export type SchemaCheck = Bounded<
  | { kind: 'valid' }
  /** The first errors (at most MAX_VALIDATION_ERRORS) and how many Ajv found in all. */
  | { kind: 'invalid'; errors: ValidationError[]; count: number }
  | { kind: 'not-json'; detail: string }
>;

const SCRIPT = new URL('./json-schema-check-worker.ts', import.meta.url);

/**
 * Validates a JSON document against a draft 2020-12 schema with Ajv in a bounded thread: parsing a
 * large document costs several times its size, and a tenant's pattern can backtrack for ever.
 */
export function checkAgainstSchema(
  schema: object | boolean,
  bytes: Uint8Array,
  limits: ThreadLimits,
): Promise<SchemaCheck> {
  const own = new Uint8Array(bytes);
  return runBoundedThread(
    SCRIPT,
    { schema, bytes: own, maxErrors: MAX_VALIDATION_ERRORS, ajvOptions: AJV_OPTIONS },
    [own.buffer],
    limits,
  );
}
