import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair, Scalar, YAMLMap } from 'yaml';
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
            (suggestion
              ? ` (did you mean "${suggestion}"?)`
              : known.length === 0
                ? '; this mapping takes no fields (write {})'
                : `; known fields: ${known.join(', ')}`),
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

/**
 * Most nodes that aliases may add to a config by expansion: far beyond any real config, and
 * small enough that an alias bomb (each level repeating the one before) fails in milliseconds.
 */
export const MAX_ALIAS_NODES = 100_000;

/**
 * Replaces every alias in `doc` with a copy of the node its anchor names, and applies merge keys
 * (`<<: *defaults`, explicit keys winning), as Go's yaml.v3 does when kube-state-metrics decodes
 * its config; the copies keep the anchor's positions for messages. Returns a problem, with the
 * node it is at, when an alias names no anchor before it, or when the copies would add more than
 * `maxNodes` nodes: that is measured first, in one walk, so an alias bomb is refused before
 * anything is copied.
 */
export function expandAliases(
  doc: Document,
  maxNodes = MAX_ALIAS_NODES,
): { node: Node; message: string } | undefined {
  const contents = doc.contents;
  if (!contents) return undefined;
  const problem = measureAliases(contents, maxNodes);
  if (problem) return problem;
  const anchors = new Map<string, Node>();
  const expand = (node: Node): Node => {
    if (isAlias(node)) return anchors.get(node.source)!.clone() as Node;
    if (isSeq(node)) node.items = node.items.map((item) => expand(item as Node));
    if (isMap(node)) {
      for (const pair of node.items as Pair<Node | null, Node | null>[]) {
        if (pair.key) pair.key = expand(pair.key);
        if (pair.value) pair.value = expand(pair.value);
      }
      applyMergeKeys(node as YAMLMap<Node, Node | null>);
    }
    // Set after its children: an alias inside the node it names is unresolved, as in YAML.
    if (node.anchor) anchors.set(node.anchor, node);
    return node;
  };
  doc.contents = expand(contents);
  return undefined;
}

/** The first unresolved alias, or the alias whose expansion crosses `maxNodes` added nodes. */
function measureAliases(root: Node, maxNodes: number): { node: Node; message: string } | undefined {
  const sizes = new Map<string, number>();
  let added = 0;
  let problem: { node: Node; message: string } | undefined;
  const size = (node: Node | null): number => {
    if (problem || !node) return 1;
    if (isAlias(node)) {
      const n = sizes.get(node.source);
      if (n === undefined) {
        problem = {
          node,
          message: `YAML: unresolved alias *${node.source} (no anchor &${node.source} before it)`,
        };
        return 1;
      }
      added += n;
      if (added > maxNodes)
        problem = {
          node,
          message: `YAML: aliases expand to more than ${maxNodes} nodes; refusing the config (an alias bomb?)`,
        };
      return n;
    }
    let n = 1;
    if (isSeq(node)) for (const item of node.items) n += size(item as Node);
    if (isMap(node))
      for (const pair of node.items as Pair<Node | null, Node | null>[])
        n += size(pair.key) + size(pair.value);
    if (node.anchor) sizes.set(node.anchor, n);
    return n;
  };
  size(root);
  return problem;
}

/** yaml.v3's merge: `<<: map` or `<<: [map, ...]` adds the keys the mapping lacks, earlier maps first. */
function applyMergeKeys(map: YAMLMap<Node, Node | null>): void {
  if (!map.items.some(isMergePair)) return;
  const explicit = new Set(
    map.items.filter((p) => !isMergePair(p) && isScalar(p.key)).map((p) => String((p.key as Scalar).value)),
  );
  const items: Pair<Node, Node | null>[] = [];
  for (const pair of map.items) {
    if (!isMergePair(pair)) {
      items.push(pair);
      continue;
    }
    const sources = isSeq(pair.value) ? (pair.value.items as Node[]) : [pair.value];
    for (const source of sources) {
      // Anything else than a mapping stays as a `<<` key, which the reader reports as unknown.
      if (!isMap(source)) {
        items.push(pair);
        break;
      }
      for (const merged of source.items as Pair<Node, Node | null>[]) {
        const key = isScalar(merged.key) ? String(merged.key.value) : undefined;
        if (key === undefined || explicit.has(key)) continue;
        explicit.add(key);
        items.push(merged);
      }
    }
  }
  map.items = items;
}

function isMergePair(pair: Pair<unknown, unknown>): boolean {
  return isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<';
}
