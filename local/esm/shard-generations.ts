import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { EventSourceMappingSettings } from './types';

/*
 * Shards across reshards, as Lambda reads them: a parent to its end before any of its children (a split's two, or a
 * merge's one, which waits for both its parents), so an account's records stay in order across a reshard. Apart from
 * the mapping, which starts and stops readers: this only decides which shard may be read when.
 */

/** A shard as the mapping lists it: its parents (none, one for a split's child, two for a merge's) and whether it is open. */
export interface ListedShard {
  readonly shardId: string;
  readonly parents: readonly string[];
  readonly open: boolean;
}

/** A closed shard's child, as the last event of its subscription names it. */
export interface ChildShard {
  readonly shardId: string;
  readonly parents: readonly string[];
}

export async function listShards(client: KinesisClient, streamArn: string): Promise<ListedShard[]> {
  const shards: ListedShard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListShardsCommand(nextToken === undefined ? { StreamARN: streamArn } : { NextToken: nextToken }));
    for (const shard of page.Shards ?? []) {
      if (shard.ShardId === undefined) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
      shards.push({ shardId: shard.ShardId, parents, open: shard.SequenceNumberRange?.EndingSequenceNumber === undefined });
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

/**
 * The shards a mapping reads first: from LATEST the open ones (a closed shard has nothing after its end); otherwise the
 * oldest generation listed (shards none of whose parents are listed any more), whose children follow as each ends.
 */
export function firstShards(shards: readonly ListedShard[], startingPosition: EventSourceMappingSettings['startingPosition']): string[] {
  if (startingPosition === 'LATEST') return shards.filter((shard) => shard.open).map((shard) => shard.shardId);
  const listed = new Set(shards.map((shard) => shard.shardId));
  return shards.filter((shard) => shard.parents.every((parent) => !listed.has(parent))).map((shard) => shard.shardId);
}

/** Which shards were started and which were read and processed to their end, so a child starts after all its parents. */
export class ShardGenerations {
  readonly #started = new Set<string>();
  readonly #finished = new Set<string>();
  /** Children named by a finished parent, not started yet: each with its parents. */
  readonly #waiting = new Map<string, readonly string[]>();

  started(shardId: string): void {
    this.#started.add(shardId);
    this.#waiting.delete(shardId);
  }

  /**
   * `parent` was read to its end and every record of it settled: the children that may start now (each whose parents
   * have all finished; a parent this mapping never read, expired or closed before a LATEST start, does not hold it up).
   */
  finished(parent: string, children: readonly ChildShard[]): string[] {
    this.#finished.add(parent);
    for (const child of children) if (!this.#started.has(child.shardId)) this.#waiting.set(child.shardId, child.parents);
    const ready: string[] = [];
    for (const [child, parents] of this.#waiting) {
      if (parents.every((other) => this.#finished.has(other) || !this.#started.has(other))) ready.push(child);
    }
    return ready;
  }
}
