import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Composer, isAlias, isCollection, isPair, isScalar, LineCounter, Parser, Scalar, visit } from 'yaml';
import type { Document, Node, ScalarTag, Tags } from 'yaml';
import { GoFloat64 } from '../go/GoFloat64.ts';
import { isBeyondInt64, parseKubeJson } from '../go/kubeJson.ts';
import { formatGoFloat } from '../go/goFormat.ts';
import { Slicer } from '../runtime/Slicer.ts';

/** A Kubernetes object read from a file, with where it came from. */
export interface FileObject {
  readonly object: Record<string, unknown>;
  readonly file: string;
  /** Position of the document (or list item) in the file, 0-based. */
  readonly index: number;
}

export interface FileProblem {
  readonly file: string;
  readonly message: string;
}

const OBJECT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const FLOAT_TAG = 'tag:yaml.org,2002:float';
const INT_TAG = 'tag:yaml.org,2002:int';

/**
 * Numbers Go keeps as float64 even when integral format differently as labels (`1e+06` vs
 * `1000000`); mark them so the engine can tell: floats written with a fraction or exponent, and
 * decimal integers beyond int64 (Kubernetes turns YAML into JSON, whose decoder makes those
 * float64, as parseKubeJson does).
 */
const markIntegralFloats = (tags: Tags): Tags =>
  tags.map((tag) => {
    if (typeof tag !== 'object' || !('resolve' in tag) || !tag.resolve) return tag;
    if (tag.tag !== FLOAT_TAG && tag.tag !== INT_TAG) return tag;
    const scalar = tag as ScalarTag;
    const float = tag.tag === FLOAT_TAG;
    return {
      ...scalar,
      resolve: (...args: Parameters<ScalarTag['resolve']>) => {
        const resolved = scalar.resolve(...args);
        // `2.0` resolves to a Scalar node (keeping its fraction digits), the rest to numbers.
        const value: unknown = isScalar(resolved) ? resolved.value : resolved;
        if (typeof value !== 'number' || !Number.isInteger(value)) return resolved;
        if (!float && !isBeyondInt64(args[0])) return resolved;
        if (!isScalar(resolved)) return new GoFloat64(value);
        resolved.value = new GoFloat64(value);
        return resolved;
      },
    };
  });

/**
 * Lists object files under the given paths: files as given, directories recursively, sorted.
 * Inside directories, only regular files are taken: reading a FIFO, socket or device can block
 * forever (and a thread blocked in read(2) keeps the process from exiting). A directory reached a
 * second time (a symlink loop, or two links to one directory) is not read again, so its objects
 * are not served twice. Both are skipped without a problem: the files source rescans every 30 s,
 * and a problem would be logged every time.
 */
export async function listObjectFiles(
  paths: readonly string[],
): Promise<{ files: string[]; problems: FileProblem[] }> {
  const files: string[] = [];
  const problems: FileProblem[] = [];
  const directories = new Set<string>();
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      problems.push({
        file: path,
        message:
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'no such file or directory'
            : (err as Error).message,
      });
      return;
    }
    if (info.isDirectory()) {
      const id = `${info.dev}:${info.ino}`;
      if (directories.has(id)) return;
      directories.add(id);
      const entries = (await readdir(path)).sort();
      for (const entry of entries) if (!entry.startsWith('.')) await visit(join(path, entry), false);
    } else if (explicit || (info.isFile() && OBJECT_EXTENSIONS.has(extname(path).toLowerCase()))) {
      files.push(path);
    }
  };
  for (const path of paths) await visit(path, true);
  return { files, problems };
}

/** Parses one file's text: JSON, or YAML with any number of documents; `kind: List` is unpacked. */
export function parseObjects(text: string, file: string): { objects: FileObject[]; problems: FileProblem[] } {
  const steps = parseObjectSteps(text, file);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Reads and parses one file as `parseObjects` does (with the number of bytes read, -1 when it
 * could not be read), a YAML document at a time, letting the event
 * loop run whenever `sliceMs` of work is spent: a YAML file of 10,000 documents takes about a
 * second to parse, which would stall scrapes and probes. (One document is still converted in one
 * go: a single `kind: List` of many items is not split.)
 */
export async function readObjectFile(
  file: string,
  sliceMs = 10,
): Promise<{ objects: FileObject[]; problems: FileProblem[]; bytes: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { objects: [], problems: [{ file, message: (err as Error).message }], bytes: -1 };
  }
  const steps = parseObjectSteps(bytes.toString('utf8'), file);
  const slicer = new Slicer({ sliceMs });
  for (;;) {
    const step = steps.next();
    if (step.done) return { ...step.value, bytes: bytes.length };
    const turn = slicer.turn();
    if (turn) await turn;
  }
}

/** The parse of one file, as a generator that pauses after each YAML document. */
export function* parseObjectSteps(
  text: string,
  file: string,
): Generator<void, { objects: FileObject[]; problems: FileProblem[] }, void> {
  const objects: FileObject[] = [];
  const problems: FileProblem[] = [];
  const add = (value: unknown, where: string) => {
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value) || value instanceof GoFloat64) {
      problems.push({
        file,
        message: `${where}: not a Kubernetes object (expected a mapping with apiVersion and kind)`,
      });
      return;
    }
    const obj = value as Record<string, unknown>;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      obj.items.forEach((item, i) => add(item, `${where}.items[${i}]`));
      return;
    }
    objects.push({ object: obj, file, index: objects.length });
  };
  if (extname(file).toLowerCase() === '.json') {
    try {
      add(parseKubeJson(text), file);
    } catch (err) {
      problems.push({ file, message: `invalid JSON: ${(err as Error).message}` });
    }
    return { objects, problems };
  }
  // parseAllDocuments, one document at a time: the parser and composer are generators.
  const lines = new LineCounter();
  // logLevel 'error': the library would otherwise write its warnings to stderr (process.emitWarning),
  // outside the structured logs; the one it has for documents (a collection as a mapping key) is
  // reported as this file's problem below instead.
  // merge: `<<: *defaults` is merged, as Kubernetes' own YAML decoding (yaml.v2) does.
  const composer = new Composer({
    customTags: markIntegralFloats,
    uniqueKeys: true,
    logLevel: 'error',
    merge: true,
  });
  let i = 0;
  const documents = composer.compose(new Parser(lines.addNewLine).parse(text));
  for (;;) {
    let next: ReturnType<typeof documents.next>;
    try {
      next = documents.next();
    } catch (err) {
      // The library turns what it finds wrong into document errors; anything it throws instead
      // is still this file's problem, not the source's.
      problems.push({ file, message: `invalid YAML after document ${i}: ${(err as Error).message}` });
      break;
    }
    if (next.done) break;
    const doc = next.value;
    i++;
    const error = doc.errors[0];
    if (error) {
      const pos = error.pos[0] >= 0 ? lines.linePos(error.pos[0]) : undefined;
      problems.push({
        file,
        message: `invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${error.message.split('\n')[0]}`,
      });
    } else if (!prepareMappingKeys(doc)) {
      // JSON (and so a Kubernetes object) has only string keys; the library would stringify it.
      problems.push({ file, message: `invalid YAML in document ${i}: a mapping key is a list or a mapping` });
    } else if (aliasExpansion(doc) > MAX_ALIAS_NODES) {
      problems.push({
        file,
        message: `invalid YAML in document ${i}: aliases expand to more than ${MAX_ALIAS_NODES} nodes (an alias bomb?)`,
      });
    } else {
      try {
        // The expansion is bounded above; the library's own check counts references instead, and
        // refuses an ordinary list whose items share one anchor more than 100 times.
        add(doc.toJS({ maxAliasCount: -1 }), `document ${i}`);
      } catch (err) {
        // The yaml library reports an unresolved alias, or a merge of something else than a
        // mapping, by throwing here rather than in doc.errors.
        problems.push({ file, message: `invalid YAML in document ${i}: ${(err as Error).message}` });
      }
    }
    yield;
  }
  return { objects, problems };
}

/**
 * Most nodes that aliases may add to one document by expansion: far more than any object the API
 * server would store, and small enough that an alias bomb is refused before it is expanded.
 */
export const MAX_ALIAS_NODES = 100_000;

/**
 * How many nodes the document's aliases would add if expanded, without expanding them: each
 * anchored node's size is known when its alias is met (an alias names the last anchor before
 * it), so this is one walk, however large the expansion. Unresolved aliases count as nothing
 * (the conversion reports them).
 */
export function aliasExpansion(doc: Document): number {
  const anchors = new Map<string, number>();
  let added = 0;
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const n = anchors.get(node.source) ?? 0;
      added += n;
      return n;
    }
    let n = 1;
    if (isCollection(node)) {
      for (const item of node.items) {
        if (isPair(item)) n += size(item.key) + size(item.value);
        else n += size(item);
      }
    }
    const anchor = (node as Node | null)?.anchor;
    if (anchor) anchors.set(anchor, n);
    return n;
  };
  size(doc.contents);
  return added;
}

/**
 * Readies a document's mapping keys for conversion; false when one is a list or a mapping (written
 * out or through an alias), which JSON cannot hold. A key that is a number Go holds as float64
 * (`2.0`, `1e6`) becomes the text Kubernetes gives it (`2`, `1e+06`): its GoFloat64 marker would
 * otherwise turn into "[object Object]" (and several such keys into one).
 */
function prepareMappingKeys(doc: Document): boolean {
  let convertible = true;
  visit(doc, {
    Pair: (_, pair) => {
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      if (isCollection(key)) {
        convertible = false;
        return visit.BREAK;
      }
      // A new node: an alias's target may be a value elsewhere, where it stays a number.
      if (isScalar(key) && key.value instanceof GoFloat64)
        pair.key = new Scalar(formatGoFloat(key.value.value));
      return undefined;
    },
  });
  return convertible;
}
