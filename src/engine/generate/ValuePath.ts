import { GoFloat64 } from '../../go/GoFloat64.ts';
import { isMap } from '../../go/kubeJson.ts';

type Op = (value: unknown) => unknown;

export class InvalidPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPathError';
  }
}

/**
 * A compiled path, with kube-state-metrics' grammar: `name` looks up a map key (or, on a list, an
 * integer index, negative counting from the end); `k=v` returns `v` when the map's `k` equals the
 * string `v`; `[k=v]` picks the first map of a list whose `k` matches. Any nil on the way gives
 * undefined.
 */
export class ValuePath {
  /** The segments as written, e.g. `[status,conditions]` (KSM's rendering, used in error text). */
  readonly text: string;
  readonly segments: readonly string[];
  private readonly _ops: readonly Op[];

  constructor(segments: readonly string[]) {
    this.segments = segments;
    this.text = `[${segments.join(',')}]`;
    this._ops = segments.map(compileSegment);
  }

  get isEmpty(): boolean {
    return this._ops.length === 0;
  }

  get(value: unknown): unknown {
    let current = value;
    for (const op of this._ops) {
      if (current === undefined || current === null) return undefined;
      current = op(current);
    }
    return current ?? undefined;
  }

  /**
   * Where `get` finds nothing, for `explain` (never on the per-object path): the first segment
   * that gives nil, the value it was applied to, and whether the key was there holding null.
   * Undefined when the path resolves to a value.
   */
  miss(value: unknown): PathMiss | undefined {
    if (value === undefined || value === null)
      return { index: -1, segment: '', parent: undefined, nil: value === null };
    let current = value;
    for (let i = 0; i < this._ops.length; i++) {
      const next = this._ops[i]!(current);
      if (next === undefined || next === null)
        return { index: i, segment: this.segments[i]!, parent: current, nil: next === null };
      current = next;
    }
    return undefined;
  }
}

/** Where a path stops (see ValuePath.miss). */
export interface PathMiss {
  /** Index of the segment that gave nil; -1 when the value itself is nil. */
  readonly index: number;
  readonly segment: string;
  /** The value that segment was applied to (a map without the key, a list, a scalar). */
  readonly parent: unknown;
  /** The segment found the key holding null, rather than no key. */
  readonly nil: boolean;
}

function compileSegment(segment: string): Op {
  if (segment.startsWith('[') && segment.endsWith(']')) {
    const inner = segment.slice(1, -1);
    const eq = inner.indexOf('=');
    if (eq < 0) {
      throw new InvalidPathError(
        `invalid list lookup: ${segment} (a list filter is [key=value], e.g. [type=Ready]; to pick an element by position use its index, e.g. "0")`,
      );
    }
    return listFilter(inner.slice(0, eq), inner.slice(eq + 1));
  }
  const parts = segment.split('=');
  const kv = parts.length === 2 ? { key: parts[0]!, value: parts[1]! } : undefined;
  const index = parseGoInt(segment);
  return (current) => {
    if (Array.isArray(current)) {
      if (index === undefined) return undefined;
      const i = index < 0 ? index + current.length : index;
      return i >= 0 && i < current.length ? (current[i] as unknown) : undefined;
    }
    if (!isMap(current)) return undefined;
    if (kv && current[kv.key] === kv.value) return kv.value;
    return Object.hasOwn(current, segment) ? current[segment] : undefined;
  };
}

/**
 * `[key=value]`. KSM also matches any element whose field converts to the same number through its
 * lenient conversion, so `[status=Unknown]` matched `"False"` (both convert to 0). We compare
 * numerically only when `value` is a plain number, and booleans only against real booleans; see
 * docs/differences-from-kube-state-metrics.md.
 */
function listFilter(key: string, value: string): Op {
  const number = PLAIN_NUMBER.test(value) ? Number(value) : undefined;
  const bool = parseGoBool(value);
  return (current) => {
    if (!Array.isArray(current)) return undefined;
    for (const element of current) {
      if (!isMap(element) || !Object.hasOwn(element, key)) continue;
      const candidate = element[key];
      if (candidate === value) return element;
      if (number !== undefined) {
        const n =
          typeof candidate === 'number'
            ? candidate
            : candidate instanceof GoFloat64
              ? candidate.value
              : undefined;
        if (n !== undefined && n === number) return element;
      }
      if (bool !== undefined && candidate === bool) return element;
    }
    return undefined;
  };
}

const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Go's strconv.Atoi for the segment forms that can index a list. */
function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function parseGoBool(text: string): boolean | undefined {
  switch (text) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}
