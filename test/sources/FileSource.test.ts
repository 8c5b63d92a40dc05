import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { FileSource } from '../../src/sources/FileSource.ts';
import type { ObjectSink } from '../../src/sources/Source.ts';

const OBJECTS = 300;
const documents = (phase: string) =>
  Array.from(
    { length: OBJECTS },
    (_, i) =>
      `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: b${i}, namespace: ns}\nstatus: {phase: ${phase}}\n`,
  );

/** A sink that records every full listing of a file: how many objects, and their phase. */
function listingSink(): { sink: ObjectSink; listings: { count: number; phases: Set<string> }[] } {
  const listings: { count: number; phases: Set<string> }[] = [];
  let current: { count: number; phases: Set<string> } | undefined;
  const sink: ObjectSink = {
    upsert: (_scope, _key, object) => {
      if (!current) return;
      current.count++;
      current.phases.add((object as { status: { phase: string } }).status.phase);
    },
    delete: () => {},
    beginSync: () => (current = { count: 0, phases: new Set() }),
    endSync: () => {
      if (current) listings.push(current);
      current = undefined;
    },
    dropScope: () => {},
    objectCount: () => 0,
  };
  return { sink, listings };
}

const dir = mkdtempSync(path.join(tmpdir(), 'file-source-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('FileSource: a file being written', () => {
  it(
    'a file rewritten in place, in parts with pauses, is never served half-written',
    { timeout: 30_000 },
    async () => {
      const source = path.join(dir, 'in-place');
      const file = path.join(source, 'backups.yaml');
      await import('node:fs').then((fs) => fs.mkdirSync(source));
      writeFileSync(file, documents('Old').join('---\n'));
      const { sink, listings } = listingSink();
      const files = new FileSource({ inputs: [source], sink, logger: pino({ level: 'silent' }) });
      try {
        await files.start();
        assert.deepEqual(
          listings.map((l) => l.count),
          [OBJECTS],
        );
        // As an editor or `kubectl get -o yaml > file` rewrites it: truncate, then write in three
        // parts with pauses longer than the file watch's debounce (each part ends between documents,
        // so the file is valid YAML with fewer objects at every pause).
        const parts = documents('New');
        const fd = openSync(file, 'w');
        for (let part = 0; part < 3; part++) {
          const slice = parts.slice((part * OBJECTS) / 3, ((part + 1) * OBJECTS) / 3);
          writeSync(fd, (part > 0 ? '---\n' : '') + slice.join('---\n'));
          if (part < 2) await sleep(250);
        }
        closeSync(fd);
        for (let waited = 0; !listings.some((l) => l.phases.has('New')) && waited < 10_000; waited += 100)
          await sleep(100);
        assert.deepEqual(
          listings.map((l) => `${l.count} ${[...l.phases].join(',')}`),
          [`${OBJECTS} Old`, `${OBJECTS} New`],
          'every listing holds the whole file',
        );
      } finally {
        await files.stop();
      }
    },
  );

  it(
    'a file replaced by a rename (the atomic way to update one) is read whole',
    { timeout: 30_000 },
    async () => {
      const source = path.join(dir, 'renamed');
      const file = path.join(source, 'backups.yaml');
      const fs = await import('node:fs');
      fs.mkdirSync(source);
      writeFileSync(file, documents('Old').join('---\n'));
      const { sink, listings } = listingSink();
      const files = new FileSource({ inputs: [source], sink, logger: pino({ level: 'silent' }) });
      try {
        await files.start();
        const temporary = path.join(source, '.backups.yaml.tmp');
        writeFileSync(temporary, documents('New').join('---\n'));
        fs.renameSync(temporary, file);
        for (let waited = 0; !listings.some((l) => l.phases.has('New')) && waited < 10_000; waited += 50)
          await sleep(50);
        assert.deepEqual(
          listings.map((l) => `${l.count} ${[...l.phases].join(',')}`),
          [`${OBJECTS} Old`, `${OBJECTS} New`],
        );
      } finally {
        await files.stop();
      }
    },
  );
});
