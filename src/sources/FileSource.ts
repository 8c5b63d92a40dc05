import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { objectGvk } from '../model/gvk.ts';
import { objectRef } from '../model/objectRef.ts';
import { Slicer } from '../runtime/Slicer.ts';
import { listObjectFiles, parseObjects, readObjectFile } from './objectFiles.ts';
import type { FileObject, FileProblem } from './objectFiles.ts';
import { pendingWork } from './Source.ts';
import type { ObjectSink, Source } from './Source.ts';

/** What `-` among the inputs is called in messages and keys. */
export const STDIN_NAME = '<stdin>';

export interface FileSourceOptions {
  /** Files and directories (read recursively); `-` is standard input (see `stdin`). */
  readonly inputs: readonly string[];
  readonly sink: ObjectSink;
  readonly logger: Logger;
  /**
   * Keep the objects live: watch the inputs and rescan, so adding, editing or removing a file
   * changes the series (`run`). Without it the inputs are read once (`render`). @default true
   */
  readonly watch?: boolean;
  /** All of standard input, for `-` (read once, never watched). @default `-` is an empty input */
  readonly stdin?: () => Promise<string>;
  /**
   * Told of every file that cannot be read or parsed (a bad file's previous objects are kept).
   * @default a warning in the log
   */
  readonly onProblem?: (problem: FileProblem) => void;
  /** Rescan interval as a safety net for missed file events. @default 30000 */
  readonly rescanIntervalMs?: number;
  /** Delay that merges bursts of file events (an editor writing several times). @default 100 */
  readonly debounceMs?: number;
  /**
   * How long reading a file (parsing it, then handing its objects over) may hold the event loop
   * before it lets scrapes and probes in. @default 10
   */
  readonly sliceMs?: number;
  /**
   * A changed file is read only once it has not changed for this long (size, mtime and inode
   * the same at two looks this far apart, or its mtime already this old), and its objects are
   * used only if it did not change while it was read, so a file being written is never served
   * half-written. @default 500
   */
  readonly stableMs?: number;
}

interface FileState {
  readonly mtimeMs: number;
  readonly size: number;
  readonly ino: number;
}

/** Looks at a file still changing before it is skipped until its next change. */
const MAX_LOOKS = 20;

const sameVersion = (a: FileState, b: FileState): boolean =>
  a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;

/**
 * Objects from YAML/JSON files. Each file is a scope of the sink: a file read again is a full
 * listing of it (objects it no longer holds are deleted), a removed file drops its objects, and
 * a file that does not parse is reported and keeps its previous objects, so a half-saved edit
 * loses nothing. An object is keyed by its file and its identity (group, kind, namespace, name),
 * so two copies of one object in a file are one object, whether served or rendered.
 */
export class FileSource implements Source {
  readonly name: string;
  private readonly _o: FileSourceOptions;
  private readonly _files = new Map<string, FileState>();
  private readonly _watchers: FSWatcher[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private _debounce: NodeJS.Timeout | undefined;
  private _scanning: Promise<void> | undefined;
  private _rescanRequested = false;
  private _synced = false;
  private _stopped = false;
  /** Ends the wait for a file to settle when the source stops. */
  private readonly _stop = new AbortController();

  constructor(options: FileSourceOptions) {
    this._o = options;
    this.name = `files:${options.inputs.join(',')}`;
  }

  get synced(): boolean {
    return this._synced;
  }

  async start(): Promise<void> {
    if (this._o.inputs.includes('-')) await this._readStdin();
    await this._scan();
    this._synced = true;
    if (this._o.watch === false || this._stopped) return;
    for (const input of this._o.inputs) {
      if (input === '-') continue;
      try {
        const watcher = watch(input, { recursive: true }, () => this._schedule());
        watcher.on('error', (err) =>
          this._o.logger.warn({ err, source: this.name }, 'file watch failed; relying on periodic rescans'),
        );
        this._watchers.push(watcher);
      } catch (err) {
        this._o.logger.warn({ err, source: this.name }, 'cannot watch; relying on periodic rescans');
      }
    }
    this._timer = setInterval(() => this._schedule(), this._o.rescanIntervalMs ?? 30_000);
    this._timer.unref();
  }

  async stop(): Promise<void> {
    this._stopped = true;
    this._stop.abort();
    for (const watcher of this._watchers) watcher.close();
    clearInterval(this._timer);
    clearTimeout(this._debounce);
    await this._scanning;
  }

  private _problem(problem: FileProblem, what = ''): void {
    if (this._o.onProblem) this._o.onProblem(problem);
    else this._o.logger.warn({ file: problem.file, source: this.name }, `${what}${problem.message}`);
  }

  redeliver(keys: readonly string[]): void {
    let again = false;
    for (const key of keys) {
      const end = key.indexOf('\u0000');
      // Forgetting the version makes the next scan read the file again: a full listing of it.
      if (end > 0 && this._files.delete(key.slice(0, end))) again = true;
    }
    if (again) this._schedule();
  }

  private _schedule(): void {
    if (this._stopped) return;
    clearTimeout(this._debounce);
    this._debounce = setTimeout(() => void this._scanSafely(), this._o.debounceMs ?? 100);
  }

  private async _scanSafely(): Promise<void> {
    if (this._scanning) {
      this._rescanRequested = true;
      return;
    }
    try {
      this._scanning = this._scan();
      await this._scanning;
    } catch (err) {
      this._o.logger.error({ err, source: this.name }, 'rescan failed');
    } finally {
      this._scanning = undefined;
    }
    if (this._rescanRequested && !this._stopped) {
      this._rescanRequested = false;
      await this._scanSafely();
    }
  }

  private async _readStdin(): Promise<void> {
    const read = parseObjects(this._o.stdin ? await this._o.stdin() : '', STDIN_NAME);
    for (const p of read.problems) this._problem(p);
    await this._deliver(STDIN_NAME, read.objects);
  }

  private async _scan(): Promise<void> {
    const { files, problems } = await listObjectFiles(this._o.inputs.filter((i) => i !== '-'));
    for (const p of problems) this._problem(p);
    const present = new Set(files);
    for (const file of this._files.keys()) {
      if (present.has(file)) continue;
      this._o.logger.info(
        { file, objects: this._o.sink.objectCount(file) },
        'file removed; its objects are gone',
      );
      this._o.sink.dropScope(file);
      this._files.delete(file);
    }
    for (const file of files) {
      let info;
      try {
        info = await stat(file);
      } catch {
        continue; // removed between listing and stat; the next scan drops it
      }
      const previous = this._files.get(file);
      if (previous && sameVersion(previous, info)) continue;
      const read = await this._readStable(file, info);
      if (this._stopped) return;
      if (!read) continue; // removed meanwhile (the next scan drops it), or still being written
      const { objects, problems: fileProblems, version } = read;
      // Remember this version either way, so a bad one is not re-read until it changes again.
      this._files.set(file, version);
      if (fileProblems.length > 0) {
        for (const p of fileProblems) this._problem(p, 'skipping file: ');
        continue; // its previous objects stay
      }
      if (!(await this._deliver(file, objects))) return;
    }
  }

  /**
   * Reads a file once it is stable (see `stableMs`): undefined when it vanished, the source
   * stopped, or it was still changing after MAX_LOOKS looks (a problem; the next change of the
   * file, or the periodic rescan, tries again).
   */
  private async _readStable(
    file: string,
    first: Stats,
  ): Promise<(Awaited<ReturnType<typeof readObjectFile>> & { version: FileState }) | undefined> {
    const stableMs = this._o.stableMs ?? 500;
    let before: FileState = first;
    for (let look = 0; look < MAX_LOOKS; look++) {
      if (Date.now() - before.mtimeMs < stableMs) {
        try {
          await sleep(stableMs, undefined, { signal: this._stop.signal });
        } catch {
          return undefined; // stopped
        }
        const again = await stat(file).catch(() => undefined);
        if (!again) return undefined;
        if (!sameVersion(again, before)) {
          before = again;
          continue;
        }
      }
      const read = await readObjectFile(file, this._o.sliceMs ?? 10);
      const after = await stat(file).catch(() => undefined);
      if (!after) return undefined;
      if (sameVersion(after, before) && read.bytes === before.size) {
        return { ...read, version: { mtimeMs: before.mtimeMs, size: before.size, ino: before.ino } };
      }
      before = after;
    }
    this._problem({
      file,
      message: `still being written after ${MAX_LOOKS} looks; its previous objects stay until it is stable`,
    });
    return undefined;
  }

  /** Hands a file's objects to the sink as one full listing of the file; false when stopped meanwhile. */
  private async _deliver(file: string, objects: readonly FileObject[]): Promise<boolean> {
    const { sink } = this._o;
    const slicer = new Slicer({ sliceMs: this._o.sliceMs ?? 10 });
    // After the first scan a file read again is its author changing it, as it happens.
    sink.beginSync(file, { live: this._synced });
    for (const { object, index } of objects) {
      // Between objects, let scrapes and probes in once a slice is spent (a file can hold
      // thousands of objects; large ones are sliced by the sink itself).
      const turn = slicer.turn();
      if (turn) {
        await turn;
        if (this._stopped) return false;
      }
      const gvk = objectGvk(object);
      const ref = objectRef(object);
      const identity = gvk
        ? `${gvk.group}/${gvk.kind}/${ref.namespace ?? ''}/${ref.name ?? `#${index}`}`
        : `#${index}`;
      const pending = pendingWork(sink.upsert(file, `${file}\u0000${identity}`, object, `${file}#${index}`));
      if (pending) await pending;
    }
    sink.endSync(file);
    return true;
  }
}
