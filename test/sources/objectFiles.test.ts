import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { FileSource } from '../../src/sources/FileSource.ts';
import { parseObjects } from '../../src/sources/objectFiles.ts';
import { runCli } from '../support/runCli.ts';

const backup = (name: string, status = '{phase: Completed}') =>
  `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: ${name}, namespace: ns}\nstatus: ${status}\n`;
// A billion-laughs document: each level doubles the expansions of the one before.
const aliasBomb =
  'a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ne: &e [*d, *d]\nf: &f [*e, *e]\ng: &g [*f, *f]\n' +
  'apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: bomb}\nstatus: {list: *g}\n';

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
    assert.match(problems[1]!.message, /^invalid YAML in document 3: Excessive alias count/);
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
      directory: source,
      sink: { upsert: (key) => void upserted.push(key), delete: () => {} },
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
