// The upload fields are parsed in services/upload-fields.ts, which the Kafka consumer shares.
export {
  MAX_FILENAME_LENGTH,
  parseHttpUrl,
  parseRetention,
  parseTags,
  sanitizeFilename,
} from '../services/upload-fields';

/**
 * What an id in a path may look like. Anything else cannot name a file or webhook, and a NUL byte
 * would otherwise reach Postgres, which refuses it with an error (a 500 instead of a 400).
 */
export const ID_PARAM_PATTERN = /^[A-Za-z0-9_-]+$/;
