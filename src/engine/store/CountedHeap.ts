/**
 * A multiset of numbers that answers its minimum: a binary min-heap of distinct values with a count
 * per value, removals applied lazily (a value whose count reaches 0 leaves the heap when it
 * surfaces). Adding and removing cost O(log n) amortised; the heap is rebuilt when stale entries
 * outnumber live ones, so its size stays within twice the distinct values. NaN is never stored.
 */
export class CountedHeap {
  private readonly _counts = new Map<number, number>();
  private _heap: number[] = [];
  /** Heap entries whose value's count is 0 (waiting to surface). */
  private _stale = 0;

  add(value: number): void {
    const n = this._counts.get(value);
    if (n === undefined || n === 0) {
      if (n === 0) this._stale--;
      else this._push(value);
      this._counts.set(value, 1);
    } else {
      this._counts.set(value, n + 1);
    }
  }

  /** Removes one occurrence of `value` (a value that is not there is ignored). */
  remove(value: number): void {
    const n = this._counts.get(value);
    if (!n) return;
    this._counts.set(value, n - 1);
    if (n === 1) {
      this._stale++;
      if (this._stale > 16 && this._stale > this._heap.length / 2) this._rebuild();
    }
  }

  /** The smallest value present, or undefined when empty. */
  top(): number | undefined {
    while (this._heap.length > 0) {
      const head = this._heap[0]!;
      if (this._counts.get(head)! > 0) return head;
      this._counts.delete(head);
      this._stale--;
      this._pop();
    }
    return undefined;
  }

  private _rebuild(): void {
    const live: number[] = [];
    for (const [value, n] of this._counts) {
      if (n > 0) live.push(value);
      else this._counts.delete(value);
    }
    live.sort((a, b) => a - b);
    // A sorted array is a valid min-heap.
    this._heap = live;
    this._stale = 0;
  }

  private _push(value: number): void {
    const heap = this._heap;
    heap.push(value);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= value) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = value;
  }

  private _pop(): void {
    const heap = this._heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && heap[r]! < heap[l]! ? r : l;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
