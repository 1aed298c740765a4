/**
 * Where an actor lives. By default a hash of its id picks the shard — an even spread that every
 * thread computes alike, with no directory round trip. Actors placed explicitly (`shard`, `near`,
 * or moved by a restart) are overrides that the main thread records and copies to every thread.
 */
export class Placement {
  private readonly overrides = new Map<string, number>();

  constructor(readonly shards: number) {}

  shardOf(id: string): number {
    const o = this.overrides.get(id);
    return o !== undefined ? o : hashShard(id, this.shards);
  }

  /** Whether the default placement of `id` is `shard` (so no override is needed). */
  isDefault(id: string, shard: number): boolean {
    return hashShard(id, this.shards) === shard;
  }

  place(id: string, shard: number): void {
    if (this.isDefault(id, shard)) this.overrides.delete(id);
    else this.overrides.set(id, shard);
  }

  /** The explicit placement of `id`, if it has one (a map lookup only when any exist). */
  override(id: string): number | undefined {
    return this.overrides.size === 0 ? undefined : this.overrides.get(id);
  }

  hasOverride(id: string): boolean {
    return this.overrides.has(id);
  }

  /** All overrides (for a shard that starts later). */
  entries(): [string, number][] {
    return [...this.overrides];
  }

  unplace(id: string): void {
    this.overrides.delete(id);
  }
}

/** FNV-1a over the id's UTF-16 code units, reduced to a shard index. */
export function hashShard(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
