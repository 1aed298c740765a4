/**
 * `settlesWithin(p, ms)`: whether `p` settles within `ms` of real time (Infinity: waits for it).
 * Shutdown timeouts use it — stop an actor, and kill it if it has not stopped in time. Real time on
 * purpose: a virtual clock that nobody advances must not make a shutdown hang.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = p.then(
    () => true,
    () => true,
  );
  if (ms === Infinity) return settled;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
