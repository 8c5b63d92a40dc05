import { SyncedKeys } from '../runtime/SyncedKeys.ts';
import type { ObjectSink } from './Source.ts';

/** What a CallbackSink calls: one object added or changed, or gone. */
export interface ObjectCallbacks {
  /** May return a promise for the source to wait on (see ObjectSink). */
  upsert(key: string, object: unknown): unknown;
  delete(key: string): void;
}

/**
 * An ObjectSink for objects that are not served as series (CRDs, the bridge's own StatefulSet):
 * two callbacks, with the sync contract's relist diff done by SyncedKeys, as the series store does.
 */
export class CallbackSink implements ObjectSink {
  private readonly _callbacks: ObjectCallbacks;
  private readonly _keys = new SyncedKeys();

  constructor(callbacks: ObjectCallbacks) {
    this._callbacks = callbacks;
  }

  upsert(scope: string, key: string, object: unknown): unknown {
    this._keys.add(scope, key);
    return this._callbacks.upsert(key, object);
  }

  delete(scope: string, key: string): void {
    this._keys.remove(scope, key);
    this._callbacks.delete(key);
  }

  beginSync(scope: string, options?: { readonly live?: boolean }): void {
    this._keys.beginListing(scope, options?.live);
  }

  endSync(scope: string): void {
    for (const key of this._keys.endListing(scope)) this._callbacks.delete(key);
  }

  dropScope(scope: string): void {
    for (const key of this._keys.drop(scope)) this._callbacks.delete(key);
  }

  objectCount(scope: string): number {
    return this._keys.count(scope);
  }
}
