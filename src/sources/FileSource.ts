import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { objectGvk, objectRef } from '../engine/objectIdentity.ts';
import { LoopSlicer } from './LoopSlicer.ts';
import { listObjectFiles, readObjectFile } from './objectFiles.ts';
import { pendingWork } from './Source.ts';
import type { ObjectSink, Source } from './Source.ts';

export interface FileSourceOptions {
  readonly directory: string;
  readonly sink: ObjectSink;
  readonly logger: Logger;
  /** Rescan interval as a safety net for missed file events. @default 30000 */
  readonly rescanIntervalMs?: number;
  /** Delay that merges bursts of file events (an editor writing several times). @default 100 */
  readonly debounceMs?: number;
  /**
   * How long reading a file (parsing it, then handing its objects over) may hold the event loop
   * before it lets scrapes and probes in. @default 10
   */
  readonly sliceMs?: number;
}

interface FileState {
  readonly mtimeMs: number;
  readonly size: number;
  readonly keys: ReadonlySet<string>;
}

/**
 * Objects from YAML/JSON files under a directory, kept live: adding, editing or removing a file
 * changes the series. A file that does not parse is reported and its previous objects are kept,
 * so a half-saved edit loses nothing.
 */
export class FileSource implements Source {
  readonly name: string;
  private readonly _o: FileSourceOptions;
  private readonly _files = new Map<string, FileState>();
  private _watcher: FSWatcher | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _debounce: NodeJS.Timeout | undefined;
  private _scanning: Promise<void> | undefined;
  private _rescanRequested = false;
  private _synced = false;
  private _stopped = false;

  constructor(options: FileSourceOptions) {
    this._o = options;
    this.name = `files:${options.directory}`;
  }

  get synced(): boolean {
    return this._synced;
  }

  async start(): Promise<void> {
    await this._scan();
    this._synced = true;
    try {
      this._watcher = watch(this._o.directory, { recursive: true }, () => this._schedule());
      this._watcher.on('error', (err) =>
        this._o.logger.warn({ err, source: this.name }, 'file watch failed; relying on periodic rescans'),
      );
    } catch (err) {
      this._o.logger.warn({ err, source: this.name }, 'cannot watch directory; relying on periodic rescans');
    }
    this._timer = setInterval(() => this._schedule(), this._o.rescanIntervalMs ?? 30_000);
    this._timer.unref();
  }

  async stop(): Promise<void> {
    this._stopped = true;
    this._watcher?.close();
    clearInterval(this._timer);
    clearTimeout(this._debounce);
    await this._scanning;
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

  private async _scan(): Promise<void> {
    const { files, problems } = await listObjectFiles([this._o.directory]);
    for (const p of problems) this._o.logger.warn({ file: p.file, source: this.name }, p.message);
    const present = new Set(files);
    for (const [file, state] of this._files) {
      if (present.has(file)) continue;
      for (const key of state.keys) this._o.sink.delete(key);
      this._files.delete(file);
      this._o.logger.info({ file, objects: state.keys.size }, 'file removed; its objects are gone');
    }
    for (const file of files) {
      let info;
      try {
        info = await stat(file);
      } catch {
        continue; // removed between listing and stat; the next scan drops it
      }
      const previous = this._files.get(file);
      if (previous && previous.mtimeMs === info.mtimeMs && previous.size === info.size) continue;
      const sliceMs = this._o.sliceMs ?? 10;
      const { objects, problems: fileProblems } = await readObjectFile(file, sliceMs);
      if (fileProblems.length > 0) {
        for (const p of fileProblems)
          this._o.logger.warn({ file: p.file, source: this.name }, `skipping file: ${p.message}`);
        // Remember the bad version so it is not re-read until it changes again; keep old objects.
        this._files.set(file, { mtimeMs: info.mtimeMs, size: info.size, keys: previous?.keys ?? new Set() });
        continue;
      }
      const keys = new Set<string>();
      const slicer = new LoopSlicer(sliceMs);
      for (const { object, index } of objects) {
        // Between objects, let scrapes and probes in once a slice is spent (a file can hold
        // thousands of objects; large ones are sliced by the sink itself).
        const turn = slicer.turn();
        if (turn) {
          await turn;
          if (this._stopped) return;
        }
        const gvk = objectGvk(object);
        const ref = objectRef(object);
        const identity = gvk
          ? `${gvk.group}/${gvk.kind}/${ref.namespace ?? ''}/${ref.name ?? `#${index}`}`
          : `#${index}`;
        const key = `${file}\u0000${identity}`;
        keys.add(key);
        const pending = pendingWork(this._o.sink.upsert(key, object, `${file}`));
        if (pending) await pending;
      }
      for (const key of previous?.keys ?? []) if (!keys.has(key)) this._o.sink.delete(key);
      this._files.set(file, { mtimeMs: info.mtimeMs, size: info.size, keys });
    }
  }
}
