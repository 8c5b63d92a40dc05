import type { BudgetName, Budgets } from '../limits.ts';

/** What one object's series cost against the budgets. */
export interface BudgetCost {
  readonly series: number;
  /** Bytes of its sample lines (the exposition text it adds to a scrape). */
  readonly bytes: number;
}

/** Where an object stands in its namespace: older objects win (creationTimestamp, then name). */
export interface BudgetAge {
  /** creationTimestamp in epoch ms; -Infinity when missing (such objects count as the oldest). */
  readonly createdMs: number;
  readonly name: string;
}

/** One object the ledger knows: admitted (its series are served) or dropped (identity only). */
export interface BudgetEntry extends BudgetCost, BudgetAge {
  readonly key: string;
  readonly namespace: string;
  /** The resource it belongs to (for counting a cut-off). */
  readonly resource: string;
  /** The budget that keeps it out; undefined while admitted. */
  readonly droppedBy: BudgetName | undefined;
}

interface Entry extends BudgetCost, BudgetAge {
  readonly key: string;
  readonly namespace: string;
  readonly resource: string;
  droppedBy: BudgetName | undefined;
  /** Replaced or removed: a heap entry left to surface (lazy deletion). */
  dead: boolean;
}

export type Admission =
  | {
      readonly admitted: true;
      /** Newer objects of the same namespace dropped to make room (their series must go). */
      readonly evicted: readonly BudgetEntry[];
    }
  | { readonly admitted: false; readonly limit: BudgetName };

/** Use of the process budgets, and what the budgets hold out, for self-metrics. */
export interface BudgetUse {
  readonly series: number;
  readonly bytes: number;
  /** Objects held out, by namespace and the budget that holds them out. */
  readonly dropped: ReadonlyMap<string, ReadonlyMap<BudgetName, number>>;
}

/** Newer first: the later creation time, then the later name, then the later key. */
function newer(a: Entry, b: Entry): boolean {
  if (a.createdMs !== b.createdMs) return a.createdMs > b.createdMs;
  if (a.name !== b.name) return a.name > b.name;
  return a.key > b.key;
}

/** A namespace's admitted objects, newest on top; removals surface lazily. */
class NewestHeap {
  private _heap: Entry[] = [];
  private _dead = 0;

  get size(): number {
    return this._heap.length;
  }

  push(e: Entry): void {
    const h = this._heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!newer(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** The newest admitted entry, without removing it. */
  peek(): Entry | undefined {
    while (this._heap.length > 0) {
      const top = this._heap[0]!;
      if (!top.dead && top.droppedBy === undefined) return top;
      this._pop();
      this._dead--;
    }
    return undefined;
  }

  pop(): Entry | undefined {
    const top = this.peek();
    if (top) this._pop();
    return top;
  }

  /** An entry in the heap stopped being admitted; rebuilds when such entries outnumber the live. */
  forgot(): void {
    this._dead++;
    if (this._dead > 16 && this._dead > this._heap.length / 2) {
      const live = this._heap.filter((e) => !e.dead && e.droppedBy === undefined);
      this._heap = [];
      this._dead = 0;
      for (const e of live) this.push(e);
    }
  }

  private _pop(): void {
    const h = this._heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < h.length && newer(h[l]!, h[top]!)) top = l;
      if (r < h.length && newer(h[r]!, h[top]!)) top = r;
      if (top === i) break;
      [h[i], h[top]] = [h[top]!, h[i]!];
      i = top;
    }
  }
}

interface Namespace {
  /** Admitted objects. */
  objects: number;
  series: number;
  bytes: number;
  readonly heap: NewestHeap;
  readonly dropped: Map<BudgetName, number>;
}

const within = (used: number, limit: number) => limit <= 0 || used <= limit;

/**
 * The budgets across objects: series and sample-line bytes for the whole store and per namespace,
 * kept incrementally (an object's cost is added when it is admitted and taken back when it is
 * replaced, dropped or removed), so every check is O(1) unless a namespace is over its budget.
 *
 * Who loses when an object does not fit: the newest objects of that object's namespace. An object
 * older than some admitted objects of its namespace takes their place (they are evicted, newest
 * first) if that makes it fit; otherwise it is refused itself. Objects of other namespaces are
 * never evicted: when the process budget is full because of them, a newcomer is refused.
 *
 * A dropped object is remembered by identity and cost only (no content), until it is removed or
 * admitted again; `readmissible` lists those that would fit now.
 */
export class BudgetLedger {
  private readonly _budgets: Budgets;
  private readonly _entries = new Map<string, Entry>();
  private readonly _namespaces = new Map<string, Namespace>();
  private _series = 0;
  private _bytes = 0;

  constructor(budgets: Budgets) {
    this._budgets = budgets;
  }

  get budgets(): Budgets {
    return this._budgets;
  }

  /** Whether any budget is set (0 everywhere: the ledger is not needed). */
  get enabled(): boolean {
    const b = this._budgets;
    return b.totalSeries > 0 || b.totalSeriesBytes > 0 || b.namespaceSeries > 0 || b.namespaceSeriesBytes > 0;
  }

  /** Series admitted in total. */
  get series(): number {
    return this._series;
  }

  /** Sample-line bytes admitted in total. */
  get bytes(): number {
    return this._bytes;
  }

  /** Series and bytes admitted for one namespace. */
  namespaceUse(namespace: string): BudgetCost {
    const ns = this._namespaces.get(namespace);
    return { series: ns?.series ?? 0, bytes: ns?.bytes ?? 0 };
  }

  entry(key: string): BudgetEntry | undefined {
    return this._entries.get(key);
  }

  /** Objects held out by a budget right now. */
  get droppedCount(): number {
    let n = 0;
    for (const ns of this._namespaces.values()) for (const c of ns.dropped.values()) n += c;
    return n;
  }

  use(): BudgetUse {
    const dropped = new Map<string, ReadonlyMap<BudgetName, number>>();
    for (const [name, ns] of this._namespaces)
      if (ns.dropped.size > 0) dropped.set(name, new Map(ns.dropped));
    return { series: this._series, bytes: this._bytes, dropped };
  }

  /**
   * Decides whether the object under `key` (replacing what the ledger had for it) may have its
   * series served, and records the outcome. On admission, the evicted entries' series must be
   * removed by the caller; on refusal, the object's previous series must be.
   */
  admit(key: string, resource: string, namespace: string, age: BudgetAge, cost: BudgetCost): Admission {
    this.remove(key);
    const ns = this._namespace(namespace);
    const entry: Entry = {
      key,
      namespace,
      resource,
      createdMs: age.createdMs,
      name: age.name,
      series: cost.series,
      bytes: cost.bytes,
      droppedBy: undefined,
      dead: false,
    };
    this._entries.set(key, entry);
    let over = this._over(ns, cost, 0, 0);
    if (over === undefined) {
      this._add(ns, entry);
      return { admitted: true, evicted: [] };
    }
    // Make room from this namespace's newer objects, newest first, if that is enough.
    const refused = over;
    if (!this._canEverFit(cost)) return this._refuse(ns, entry, refused);
    const taken: Entry[] = [];
    let freedSeries = 0;
    let freedBytes = 0;
    while (over !== undefined) {
      const newest = ns.heap.peek();
      if (!newest || !newer(newest, entry)) break;
      ns.heap.pop();
      taken.push(newest);
      freedSeries += newest.series;
      freedBytes += newest.bytes;
      over = this._over(ns, cost, freedSeries, freedBytes);
    }
    if (over !== undefined) {
      for (const e of taken) ns.heap.push(e);
      return this._refuse(ns, entry, refused);
    }
    for (const e of taken) {
      this._subtract(ns, e);
      e.droppedBy = refused;
      this._countDropped(ns, refused, 1);
    }
    this._add(ns, entry);
    return { admitted: true, evicted: taken };
  }

  /** Forgets the object under `key` (deleted, or no longer served for another reason). */
  remove(key: string): void {
    const e = this._entries.get(key);
    if (!e) return;
    this._entries.delete(key);
    e.dead = true;
    const ns = this._namespaces.get(e.namespace)!;
    if (e.droppedBy === undefined) {
      this._subtract(ns, e);
      ns.heap.forgot();
    } else {
      this._countDropped(ns, e.droppedBy, -1);
    }
    if (ns.objects === 0 && ns.dropped.size === 0) this._namespaces.delete(e.namespace);
  }

  /**
   * Dropped objects that would fit now (with the costs they had), oldest first within each
   * namespace, taking each one's cost into account for the next: what to fetch again after room
   * was freed.
   */
  readmissible(limit = Infinity): BudgetEntry[] {
    const out: BudgetEntry[] = [];
    const dropped = [...this._entries.values()].filter((e) => e.droppedBy !== undefined);
    if (dropped.length === 0) return out;
    dropped.sort((a, b) => (newer(a, b) ? 1 : -1));
    let series = this._series;
    let bytes = this._bytes;
    const perNs = new Map<string, { series: number; bytes: number }>();
    const b = this._budgets;
    for (const e of dropped) {
      if (out.length >= limit) break;
      const ns = perNs.get(e.namespace) ?? { ...this.namespaceUse(e.namespace) };
      if (
        within(series + e.series, b.totalSeries) &&
        within(bytes + e.bytes, b.totalSeriesBytes) &&
        within(ns.series + e.series, b.namespaceSeries) &&
        within(ns.bytes + e.bytes, b.namespaceSeriesBytes)
      ) {
        series += e.series;
        bytes += e.bytes;
        perNs.set(e.namespace, { series: ns.series + e.series, bytes: ns.bytes + e.bytes });
        out.push(e);
      }
    }
    return out;
  }

  /** The first budget the object would exceed with `freed` given back by its namespace. */
  private _over(
    ns: Namespace,
    cost: BudgetCost,
    freedSeries: number,
    freedBytes: number,
  ): BudgetName | undefined {
    const b = this._budgets;
    if (!within(ns.series - freedSeries + cost.series, b.namespaceSeries)) return 'namespaceSeries';
    if (!within(ns.bytes - freedBytes + cost.bytes, b.namespaceSeriesBytes)) return 'namespaceSeriesBytes';
    if (!within(this._series - freedSeries + cost.series, b.totalSeries)) return 'totalSeries';
    if (!within(this._bytes - freedBytes + cost.bytes, b.totalSeriesBytes)) return 'totalSeriesBytes';
    return undefined;
  }

  /** Larger than a budget on its own: evicting anything would not help. */
  private _canEverFit(cost: BudgetCost): boolean {
    const b = this._budgets;
    return (
      within(cost.series, b.namespaceSeries) &&
      within(cost.bytes, b.namespaceSeriesBytes) &&
      within(cost.series, b.totalSeries) &&
      within(cost.bytes, b.totalSeriesBytes)
    );
  }

  private _refuse(ns: Namespace, entry: Entry, limit: BudgetName): Admission {
    entry.droppedBy = limit;
    this._countDropped(ns, limit, 1);
    return { admitted: false, limit };
  }

  private _add(ns: Namespace, e: Entry): void {
    ns.objects++;
    ns.series += e.series;
    ns.bytes += e.bytes;
    this._series += e.series;
    this._bytes += e.bytes;
    ns.heap.push(e);
  }

  private _subtract(ns: Namespace, e: Entry): void {
    ns.objects--;
    ns.series -= e.series;
    ns.bytes -= e.bytes;
    this._series -= e.series;
    this._bytes -= e.bytes;
  }

  private _countDropped(ns: Namespace, limit: BudgetName, delta: number): void {
    const n = (ns.dropped.get(limit) ?? 0) + delta;
    if (n === 0) ns.dropped.delete(limit);
    else ns.dropped.set(limit, n);
  }

  private _namespace(name: string): Namespace {
    let ns = this._namespaces.get(name);
    if (!ns) {
      ns = { objects: 0, series: 0, bytes: 0, heap: new NewestHeap(), dropped: new Map() };
      this._namespaces.set(name, ns);
    }
    return ns;
  }
}
