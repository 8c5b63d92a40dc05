import { InvalidArgumentError } from 'commander';

/**
 * Flag values in the syntax Go's `flag`/`pflag` packages read, for kube-state-metrics' flags and
 * the durations of our own (`--web.write-timeout`), so a value copied from a KSM Deployment or a
 * Go exporter means the same here.
 */

/** strconv.ParseBool: 1, t, T, TRUE, true, True and their false counterparts. */
export function parseGoBool(value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new InvalidArgumentError('expected true or false');
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * time.ParseDuration, in milliseconds: `0`, or a sequence of decimal numbers each with a unit
 * (`90s`, `1m30s`, `1.5h`, `500ms`). Negative durations are refused (no timeout here can be).
 */
export function parseGoDuration(value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (!match) throw new InvalidArgumentError('expected a duration such as 60s, 1m30s or 500ms');
    ms += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    at = part.lastIndex;
  }
  if (text === '') throw new InvalidArgumentError('expected a duration such as 60s, 1m30s or 500ms');
  return Math.round(ms);
}

/** A decimal integer in [min, max] (flag.Int without the base prefixes nobody writes). */
export function parseGoInt(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
  return n;
}

/** A comma-separated list, as KSM's list flags read it: entries trimmed, empty ones dropped. */
export function parseCommaList(value: string, previous: readonly string[] | undefined): string[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  // Repeating the flag adds to the list, as KSM's NamespaceList.Set does.
  return [...(previous ?? []), ...entries];
}
