/**
 * What the health rules see of an object: the object itself, unless it holds something no real
 * object has (a list of more than MAX_LIST_ENTRIES, a mapping of more than MAX_MAP_ENTRIES, a
 * string longer than MAX_STRING_LENGTH, nesting deeper than MAX_DEPTH), in which case a copy
 * cut to those sizes. The rules' list macros (`exists`, `all`, `filter`) then cost at most a
 * bounded number of steps, nested ones included, whatever a hostile object holds.
 *
 * Why these sizes: Kubernetes API conventions and the CRDs we have rules for cap the lists rules
 * read well below them (Gateway API: 8 conditions, 32 parents, 64 listeners); reasons and phases
 * are short.
 */
export const MAX_LIST_ENTRIES = 128;
export const MAX_MAP_ENTRIES = 1024;
export const MAX_STRING_LENGTH = 4096;
export const MAX_DEPTH = 32;

/** The value unchanged when it is within the bounds (no copy), else a cut copy sharing what fits. */
export function boundedView(value: unknown): unknown {
  return bound(value, 0, new Map());
}

/**
 * `seen`: each object is visited once (an in-memory value may share parts, which JSON cannot
 * express, and walking shared parts again could take exponential time).
 */
function bound(value: unknown, depth: number, seen: Map<object, unknown>): unknown {
  if (typeof value === 'string')
    return value.length > MAX_STRING_LENGTH ? value.slice(0, MAX_STRING_LENGTH) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return null;
  if (seen.has(value)) return seen.get(value);
  seen.set(value, null);
  const out = boundObject(value, depth, seen);
  seen.set(value, out);
  return out;
}

function boundObject(value: object, depth: number, seen: Map<object, unknown>): unknown {
  if (Array.isArray(value)) {
    const length = Math.min(value.length, MAX_LIST_ENTRIES);
    let out: unknown[] | undefined = length < value.length ? value.slice(0, length) : undefined;
    for (let i = 0; i < length; i++) {
      const item: unknown = value[i];
      const bounded = bound(item, depth + 1, seen);
      if (bounded !== item) {
        out ??= value.slice(0, length);
        out[i] = bounded;
      }
    }
    return out ?? value;
  }
  // A class instance (GoFloat64, a Date) is a value, not a mapping.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  let count = 0;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    if (++count > MAX_MAP_ENTRIES) {
      out ??= copyFirst(record, MAX_MAP_ENTRIES);
      break;
    }
    const item = record[key];
    const bounded = bound(item, depth + 1, seen);
    if (bounded !== item) {
      out ??= copyFirst(record, MAX_MAP_ENTRIES);
      setField(out, key, bounded);
    }
  }
  return out ?? value;
}

function copyFirst(record: Record<string, unknown>, limit: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    if (n++ >= limit) break;
    setField(out, key, record[key]);
  }
  return out;
}

/** defineProperty: a key named `__proto__` stays an ordinary field, as JSON.parse makes it. */
function setField(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
