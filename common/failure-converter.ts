import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path (DataConverter.failureConverterPath) into the workflow bundle, the workers and every
 * client. Failure messages and stack traces can name a file or a callback URL, and the payload codec
 * only sees payloads: this moves them into an encoded payload, so they are encrypted too and the
 * history shows "Encoded failure" in their place. Histories written before keep their plain messages,
 * which decode as before.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
