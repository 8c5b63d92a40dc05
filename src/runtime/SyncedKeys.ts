/**
 * The keys a source has delivered, per scope (a collection, a file), and the one implementation of
 * the relist diff: a full listing of a scope (an initial list, a relist after 410 Gone, a re-read
 * file) marks every key it delivers, and the keys it did not deliver again are gone, as
 * client-go's `Store.Replace` finds them.
 */
export class SyncedKeys {
  private readonly _keys = new Map<string, Set<string>>();
  /** Keys seen so far by the listing in progress, per scope. */
  private readonly _listing = new Map<string, Set<string>>();
  /** Scopes whose listing in progress replays a state (a list, a relist), not live changes. */
  private readonly _replaying = new Set<string>();
  private _size = 0;

  /** Keys recorded, over all scopes. */
  get size(): number {
    return this._size;
  }

  /** Records `key` under `scope` (and as seen by a listing in progress). */
  add(scope: string, key: string): void {
    let keys = this._keys.get(scope);
    if (!keys) this._keys.set(scope, (keys = new Set()));
    if (!keys.has(key)) {
      keys.add(key);
      this._size++;
    }
    this._listing.get(scope)?.add(key);
  }

  /** Forgets `key`; false when it was not recorded. */
  remove(scope: string, key: string): boolean {
    this._listing.get(scope)?.delete(key);
    const keys = this._keys.get(scope);
    if (!keys?.delete(key)) return false;
    this._size--;
    if (keys.size === 0) this._keys.delete(scope);
    return true;
  }

  has(scope: string, key: string): boolean {
    return this._keys.get(scope)?.has(key) ?? false;
  }

  /** Whether a listing of `scope` that replays a state is in progress (see beginListing). */
  isReplaying(scope: string): boolean {
    return this._replaying.has(scope);
  }

  /**
   * A full listing of `scope` starts (again: an unfinished one is forgotten). `live`: what it
   * delivers are changes as they happen (a file rewritten), not a state being replayed (an
   * initial list, a relist after 410).
   */
  beginListing(scope: string, live = false): void {
    this._listing.set(scope, new Set());
    if (live) this._replaying.delete(scope);
    else this._replaying.add(scope);
  }

  /**
   * The listing of `scope` is complete: returns the keys recorded before that it did not deliver,
   * which are forgotten. Without a listing in progress nothing is gone.
   */
  endListing(scope: string): string[] {
    const seen = this._listing.get(scope);
    if (!seen) return [];
    this._listing.delete(scope);
    this._replaying.delete(scope);
    const gone: string[] = [];
    const keys = this._keys.get(scope);
    if (!keys) return gone;
    for (const key of keys) if (!seen.has(key)) gone.push(key);
    for (const key of gone) keys.delete(key);
    this._size -= gone.length;
    if (keys.size === 0) this._keys.delete(scope);
    return gone;
  }

  /** Forgets `scope` and returns the keys it had. */
  drop(scope: string): string[] {
    this._listing.delete(scope);
    this._replaying.delete(scope);
    const keys = this._keys.get(scope);
    if (!keys) return [];
    this._keys.delete(scope);
    this._size -= keys.size;
    return [...keys];
  }

  /** Keys recorded under `scope`. */
  count(scope: string): number {
    return this._keys.get(scope)?.size ?? 0;
  }
}
