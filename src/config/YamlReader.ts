import { isMap, isScalar, isSeq } from 'yaml';
import type { LineCounter, Node, Pair, Scalar } from 'yaml';
import { didYouMean } from './didYouMean.ts';
import type { ConfigProblem } from './ConfigError.ts';
import type { SourceLocation } from './SourceLocation.ts';

/** A mapping's entries by key, with the nodes kept for positions. */
export type YamlEntries = Map<string, { readonly key: Node; readonly value: Node | null }>;

/**
 * Reads YAML nodes into typed values while collecting problems with exact positions. It never
 * throws, so one pass reports every problem in the file instead of stopping at the first.
 * Scalars are read as their source text, like Go's yaml.v3 decoding into string fields.
 */
export class YamlReader {
  readonly problems: ConfigProblem[] = [];
  private readonly _file: string;
  private readonly _lines: LineCounter;

  constructor(file: string, lines: LineCounter) {
    this._file = file;
    this._lines = lines;
  }

  locate(node: Node | null | undefined, keyPath: string, fallback?: Node | null): SourceLocation {
    const offset = node?.range?.[0] ?? fallback?.range?.[0] ?? 0;
    const pos = this._lines.linePos(offset);
    return { file: this._file, line: pos.line, column: pos.col, keyPath };
  }

  report(node: Node | null | undefined, keyPath: string, message: string, fallback?: Node | null): void {
    this.problems.push({ location: this.locate(node, keyPath, fallback), message });
  }

  reportAt(location: SourceLocation, message: string): void {
    this.problems.push({ location, message });
  }

  /** A mapping whose keys must all be in `known`; unknown keys are reported with a suggestion. */
  entries(
    node: Node | null,
    keyPath: string,
    known: readonly string[],
    owner?: Node | null,
  ): YamlEntries | undefined {
    if (node === null || (isScalar(node) && node.value === null)) return new Map();
    if (!isMap(node)) {
      this.report(node, keyPath, `expected a mapping, got ${describe(node)}`, owner);
      return undefined;
    }
    const out: YamlEntries = new Map();
    for (const pair of node.items as Pair<Node, Node | null>[]) {
      const keyNode = pair.key;
      if (!isScalar(keyNode)) {
        this.report(keyNode, keyPath, 'mapping keys must be plain strings');
        continue;
      }
      const key = scalarText(keyNode);
      const childPath = joinKey(keyPath, key);
      if (!known.includes(key)) {
        const suggestion = didYouMean(key, known);
        this.report(
          keyNode,
          childPath,
          `unknown field "${key}"` +
            (suggestion ? ` (did you mean "${suggestion}"?)` : `; known fields: ${known.join(', ')}`),
        );
        continue;
      }
      out.set(key, { key: keyNode, value: pair.value });
    }
    return out;
  }

  /** A string field; null or absent gives `undefined`. Numbers and bools keep their source text. */
  string(node: Node | null | undefined, keyPath: string): string | undefined {
    if (node === undefined || node === null) return undefined;
    if (!isScalar(node)) {
      this.report(node, keyPath, `expected a string, got ${describe(node)}`);
      return undefined;
    }
    if (node.value === null) return undefined;
    return scalarText(node);
  }

  bool(node: Node | null | undefined, keyPath: string): boolean | undefined {
    if (node === undefined || node === null) return undefined;
    if (isScalar(node) && node.value === null) return undefined;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    if (isScalar(node)) {
      const text = scalarText(node).toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
    }
    this.report(node, keyPath, `expected true or false, got ${describe(node)}`);
    return undefined;
  }

  integer(node: Node | null | undefined, keyPath: string): number | undefined {
    if (node === undefined || node === null) return undefined;
    if (isScalar(node) && node.value === null) return undefined;
    if (isScalar(node) && /^[+-]?\d+$/.test(scalarText(node))) return Number(scalarText(node));
    this.report(node, keyPath, `expected an integer, got ${describe(node)}`);
    return undefined;
  }

  /**
   * A list of strings. Null elements are dropped (as yaml.v3 does). A plain string is rejected
   * with a hint, because `path: status.phase` is the usual mistake and KSM fails on it too.
   */
  stringList(node: Node | null | undefined, keyPath: string, hint = ''): string[] | undefined {
    if (node === undefined || node === null) return undefined;
    if (isScalar(node) && node.value === null) return undefined;
    if (!isSeq(node)) {
      this.report(node, keyPath, `expected a list, got ${describe(node)}${hint}`);
      return undefined;
    }
    const out: string[] = [];
    node.items.forEach((item, index) => {
      const text = this.string(item as Node | null, `${keyPath}[${index}]`);
      if (text !== undefined) out.push(text);
    });
    return out;
  }

  /** A mapping of names to strings, in declaration order. */
  stringMap(node: Node | null | undefined, keyPath: string): Map<string, { value: string; key: Node }> {
    const out = new Map<string, { value: string; key: Node }>();
    for (const [name, entry] of this.nodeMap(node, keyPath)) {
      out.set(name, { value: this.string(entry.value, joinKey(keyPath, name)) ?? '', key: entry.key });
    }
    return out;
  }

  /** A mapping of names to arbitrary nodes, in declaration order. */
  nodeMap(node: Node | null | undefined, keyPath: string): Map<string, { value: Node | null; key: Node }> {
    const out = new Map<string, { value: Node | null; key: Node }>();
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.report(node, keyPath, `expected a mapping, got ${describe(node)}`);
      return out;
    }
    for (const pair of node.items as Pair<Node, Node | null>[]) {
      if (!isScalar(pair.key)) {
        this.report(pair.key, keyPath, 'mapping keys must be plain strings');
        continue;
      }
      out.set(scalarText(pair.key), { value: pair.value, key: pair.key });
    }
    return out;
  }
}

export function joinKey(keyPath: string, key: string): string {
  const safe = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return keyPath === '' ? safe : `${keyPath}.${safe}`;
}

function scalarText(node: Scalar): string {
  // `source` is the text as written (no quotes), which is what Go's decoder stores in a string.
  const source = (node as Scalar & { source?: string }).source;
  if (typeof source === 'string' && node.type !== 'BLOCK_FOLDED' && node.type !== 'BLOCK_LITERAL') {
    return node.type === 'PLAIN' ? source : String(node.value);
  }
  return String(node.value);
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    return `${typeof v === 'string' ? 'the string' : typeof v} ${JSON.stringify(scalarText(node))}`;
  }
  return 'an unsupported YAML node';
}
