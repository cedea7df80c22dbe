import { z } from 'zod';

/** Field types every configuration schema reads from the environment (strings in, typed values out). */

/** An integer in [min, max], from its decimal text. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** `true`/`false`, `1`/`0`, `yes`/`no`. */
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list; blanks and empty entries dropped, absent = empty. */
export const commaList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
