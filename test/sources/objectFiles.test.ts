import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { GoFloat64 } from '../../src/go/GoFloat64.ts';
import { FileSource } from '../../src/sources/FileSource.ts';
import { listObjectFiles, parseObjects, parseObjectSteps } from '../../src/sources/objectFiles.ts';
import { runCli } from '../support/runCli.ts';
import { CallbackSink } from '../../src/sources/CallbackSink.ts';

const backup = (name: string, status = '{phase: Completed}') =>
  `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: ${name}, namespace: ns}\nstatus: ${status}\n`;
// A billion-laughs document: nine levels, each repeating the one before nine times.
const aliasBomb =
  ['l0: &l0 [x, x, x, x, x, x, x, x, x]']
    .concat(
      Array.from({ length: 8 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`),
    )
    .join('\n') +
  '\napiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: bomb}\nstatus: {list: *l8}\n';

const dir = mkdtempSync(path.join(tmpdir(), 'object-files-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('object files: YAML the library throws on', () => {
  it('reports an unresolved alias and an alias bomb as problems of their document, keeping the others', () => {
    const text = [backup('first'), backup('dangling', '*nowhere'), aliasBomb, backup('last')].join('---\n');
    const { objects, problems } = parseObjects(text, 'f.yaml');
    assert.deepEqual(
      objects.map((o) => (o.object.metadata as { name: string }).name),
      ['first', 'last'],
    );
    assert.equal(problems.length, 2);
    assert.match(problems[0]!.message, /^invalid YAML in document 2: Unresolved alias .*nowhere/);
    assert.equal(
      problems[1]!.message,
      'invalid YAML in document 3: aliases expand to more than 100000 nodes (an alias bomb?)',
    );
  });

  it('an alias bomb is refused before it is expanded', { timeout: 10_000 }, () => {
    // Twenty levels of nine would be 9^20 nodes: only a refusal that does not expand can end.
    const deep =
      ['l0: &l0 [x, x, x, x, x, x, x, x, x]']
        .concat(
          Array.from(
            { length: 19 },
            (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`,
          ),
        )
        .join('\n') + '\nkind: Backup\n';
    const { objects, problems } = parseObjects(deep, 'deep.yaml');
    assert.equal(objects.length, 0);
    assert.deepEqual(
      problems.map((p) => p.message),
      ['invalid YAML in document 1: aliases expand to more than 100000 nodes (an alias bomb?)'],
    );
  });

  it('accepts anchors shared by many objects and merge keys, as Kubernetes reads YAML', () => {
    const items = ['apiVersion: v1', 'kind: List', 'items:'];
    items.push(
      '- &first {apiVersion: example.com/v1, kind: Widget, metadata: {name: w0, labels: &labels {team: a}}}',
    );
    for (let i = 1; i < 500; i++)
      items.push(`- {apiVersion: example.com/v1, kind: Widget, metadata: {name: w${i}, labels: *labels}}`);
    items.push('- {<<: *first, metadata: {name: merged}, spec: {size: 3}}');
    const { objects, problems } = parseObjects(items.join('\n') + '\n', 'list.yaml');
    assert.deepEqual(problems, []);
    assert.equal(objects.length, 501);
    assert.deepEqual(objects[499]!.object, {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w499', labels: { team: 'a' } },
    });
    assert.deepEqual(objects[500]!.object, {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'merged' },
      spec: { size: 3 },
    });
  });

  it('reports a list or mapping as a mapping key as a problem of its document, with nothing on stderr', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const text = [
        backup('first'),
        backup('seq-key', '{? [a, b] : 1}'),
        backup('map-key', '{? {a: 1} : 1}'),
        `k: &k [x]\n${backup('alias-key', '{? *k : 1}')}`,
        backup('last', '{"[a, b]": 1}'),
      ].join('---\n');
      const { objects, problems } = parseObjects(text, 'f.yaml');
      assert.deepEqual(
        objects.map((o) => (o.object.metadata as { name: string }).name),
        ['first', 'last'],
      );
      assert.deepEqual(
        problems.map((p) => p.message),
        [2, 3, 4].map((i) => `invalid YAML in document ${i}: a mapping key is a list or a mapping`),
      );
      // process.emitWarning delivers on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('render: one line per bad file, exit 1, no stack trace', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, backup('dangling', '*nowhere'));
    const result = await runCli(['render', '--config', 'examples/backup/config.yaml', bad]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: ${bad}: invalid YAML in document 1: Unresolved alias (the anchor must be set before the alias): nowhere\n`,
    );
  });

  it('files source: a bad file is skipped, the others are served and the source is synced', async () => {
    const source = path.join(dir, 'source');
    mkdirSync(source);
    writeFileSync(path.join(source, 'good.yaml'), backup('good'));
    writeFileSync(path.join(source, 'bad.yaml'), aliasBomb);
    const upserted: string[] = [];
    const files = new FileSource({
      inputs: [source],
      sink: new CallbackSink({ upsert: (key) => void upserted.push(key), delete: () => {} }),
      logger: pino({ level: 'silent' }),
    });
    try {
      await files.start();
      assert.equal(files.synced, true);
      assert.equal(upserted.length, 1);
      assert.match(upserted[0]!, /good\.yaml\u0000backup\.example\.com\/Backup\/ns\/good$/);
    } finally {
      await files.stop();
    }
  });
});

describe('object files: numbers Go keeps as float64', () => {
  it('YAML integers beyond int64 are floats, as the JSON Kubernetes turns YAML into decodes them', () => {
    const { objects, problems } = parseObjects(
      backup(
        'big',
        '{over: 12345678901234567890, max: 9223372036854775807, under: -9223372036854775809, hex: 0x1E, float: 2.0}',
      ),
      'f.yaml',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(objects[0]!.object.status, {
      over: new GoFloat64(12345678901234567890),
      max: 9223372036854775807,
      under: new GoFloat64(-9223372036854775809),
      hex: 30,
      float: new GoFloat64(2),
    });
  });
});

describe('object files: numeric mapping keys', () => {
  it('a float key becomes the text Kubernetes gives it, not "[object Object]"', () => {
    const { objects, problems } = parseObjects(
      backup('keys', '{m: {2.0: a, 1e6: b, 3: c}, v: &f 1.0, n: {? *f : d}}'),
      'f.yaml',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(objects[0]!.object.status, {
      m: { '2': 'a', '1e+06': 'b', '3': 'c' },
      // The anchored value stays a float where it is a value.
      v: new GoFloat64(1),
      n: { '1': 'd' },
    });
  });
});

describe('object files: what a directory scan takes', () => {
  it('skips FIFOs and other special files, and reads a directory reached twice (a symlink loop) once', async () => {
    const root = path.join(dir, 'scan');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'a.yaml'), backup('a'));
    writeFileSync(path.join(root, 'sub', 'b.yaml'), backup('b'));
    // Reading a FIFO with no writer blocks forever (and kept the process from exiting on SIGTERM).
    execFileSync('mkfifo', [path.join(root, 'pipe.yaml')]);
    symlinkSync('..', path.join(root, 'sub', 'loop'));
    const { files, problems } = await listObjectFiles([root]);
    assert.deepEqual(files, [path.join(root, 'a.yaml'), path.join(root, 'sub', 'b.yaml')]);
    assert.deepEqual(problems, []);
    // Two links to one directory: its files are listed once.
    const twice = path.join(dir, 'twice');
    mkdirSync(path.join(twice, 'x'), { recursive: true });
    writeFileSync(path.join(twice, 'x', 'c.yaml'), backup('c'));
    symlinkSync('x', path.join(twice, 'y'));
    assert.deepEqual((await listObjectFiles([twice])).files, [path.join(twice, 'x', 'c.yaml')]);
    // A path given explicitly is read whatever it is (`render config.yaml <(generate)`).
    assert.deepEqual((await listObjectFiles([path.join(root, 'pipe.yaml')])).files, [
      path.join(root, 'pipe.yaml'),
    ]);
  });
});

describe('object files: large files do not hold the event loop', () => {
  const documents = 200;
  const text = Array.from({ length: documents }, (_, i) => backup(`b${i}`)).join('---\n');

  it('parses YAML a document at a time, with the same result as parseObjects', () => {
    const steps = parseObjectSteps(text, 'big.yaml');
    let pauses = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) pauses++;
    assert.equal(pauses, documents);
    assert.deepEqual(step.value, parseObjects(text, 'big.yaml'));
    assert.equal(step.value.objects.length, documents);
  });

  it('files source: objects are handed over across event-loop turns, not in one stretch', async () => {
    const source = path.join(dir, 'big');
    mkdirSync(source);
    writeFileSync(path.join(source, 'big.yaml'), text);
    let turn = 0;
    let spinning = true;
    const spin = () => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const turns: number[] = [];
    const files = new FileSource({
      inputs: [source],
      sink: new CallbackSink({ upsert: () => void turns.push(turn), delete: () => {} }),
      logger: pino({ level: 'silent' }),
      sliceMs: 0,
    });
    try {
      await files.start();
    } finally {
      spinning = false;
      await files.stop();
    }
    assert.equal(turns.length, documents);
    // With a slice of 0 ms every object waits for a turn of its own.
    assert.equal(new Set(turns).size, documents);
  });
});
