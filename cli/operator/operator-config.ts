import { ConfigError, loadConfig, type Config } from '../../config/env';
import { CliError } from '../errors';

/**
 * The services' settings, for the operator commands that work on PostgreSQL, Temporal and S3 directly:
 * a setting that does not validate ends the command with the validator's one-line reason, not a stack.
 */
export function operatorConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}
