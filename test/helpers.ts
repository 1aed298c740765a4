/** Shared test helpers: a quiet virtual-clock system, and a recorder of what handlers saw. */
import { createSystem, type ActorSystem, type SystemOptions } from 'threadstate';

/** A system on the virtual clock with logging silenced (unless THREADSTATE_LOG_LEVEL is set). */
export function testSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
  return createSystem({ workers: 0, clock: 'virtual', logger: { level: process.env.THREADSTATE_LOG_LEVEL ?? 'silent' }, ...opts });
}

/** Lets queued events and promise chains run (real macrotask turns; no time passes on the virtual clock). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
