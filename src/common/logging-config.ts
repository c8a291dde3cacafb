import { z } from 'zod';

/** `logging.*`, shared by every part. */
export const loggingSchema = z
  .object({
    /** trace, debug, info, warn, error, fatal, silent. The LOG_LEVEL environment variable wins. */
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** json (one object a line, for log shippers) or text (for people). */
    format: z.enum(['json', 'text']).default('json'),
  })
  .strict()
  .prefault({});
