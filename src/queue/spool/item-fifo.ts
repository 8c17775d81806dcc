import type { ResidentItem } from './state.js'

/** A first-in first-out list of events with O(1) amortized removal from the front. */
export class ItemFifo {
  private items: ResidentItem[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  peek(): ResidentItem | undefined {
    return this.items[this.head]
  }

  /** Returns the newest event, or undefined when the list is empty. */
  last(): ResidentItem | undefined {
    return this.length === 0 ? undefined : this.items[this.items.length - 1]
  }

  push(item: ResidentItem): void {
    this.items.push(item)
  }

  /** Removes and returns the first `count` events. */
  shift(count: number): ResidentItem[] {
    const taken = this.items.slice(this.head, this.head + count)
    this.head += taken.length
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return taken
  }
}
