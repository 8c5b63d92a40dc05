import { formatGoFloat } from '../go/goFormat.ts';

const SAFE_LIMIT = 2 ** 53;

/**
 * Formats a sample value for an exposition line.
 *
 * Deliberately differs from KSM, which prints every value except 0, 1 and -1 with Go's `%g`
 * (1048576 becomes `1.048576e+06`): integral values with |v| < 2^53 print as plain integers
 * (`1048576`, and `0` for -0 as in KSM). NaN, +Inf and -Inf print as `NaN`, `+Inf`, `-Inf`;
 * everything else as {@link formatGoFloat}.
 */
export function formatSampleValue(v: number): string {
  if (Number.isInteger(v) && v < SAFE_LIMIT && v > -SAFE_LIMIT) return String(v);
  return formatGoFloat(v);
}
