/**
 * The file piscina runs in each worker: compiled JavaScript in every setup. It loads the shard
 * runtime — compiled, or from TypeScript sources under tsx when the main thread runs from
 * sources (tests) — and hands it the shard's task.
 */
import { isTypeScript, registerTypeScript } from './module-loader.js';

interface EntryTask {
  /** URL of the shard runtime module (shard.js, or shard.ts when running from sources). */
  runtime: string;
}

export default async function shardEntry(task: EntryTask): Promise<unknown> {
  if (isTypeScript(task.runtime)) await registerTypeScript();
  const mod = (await import(task.runtime)) as { runShard: (task: unknown) => Promise<unknown> };
  return mod.runShard(task);
}
