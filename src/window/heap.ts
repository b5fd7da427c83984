/** A binary min-heap ordered by a numeric priority; used to close windows in event-time order. */
export class MinHeap<T> {
  private readonly prio: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(priority: number, item: T): void {
    this.prio.push(priority);
    this.items.push(item);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.prio[parent]! <= priority) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The smallest priority, or Infinity when empty. */
  peekPriority(): number {
    return this.prio.length ? this.prio[0]! : Infinity;
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    this.swap(0, n - 1);
    this.prio.pop();
    this.items.pop();
    let i = 0;
    const m = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < m && this.prio[l]! < this.prio[s]!) s = l;
      if (r < m && this.prio[r]! < this.prio[s]!) s = r;
      if (s === i) break;
      this.swap(i, s);
      i = s;
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.prio[a], this.prio[b]] = [this.prio[b]!, this.prio[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
