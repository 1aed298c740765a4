// Runs the code lock on a virtual clock: wrong code, right code, buttons while open, the state
// timeout that locks it again.
import { createSystem } from 'threadstate';
import { codeLock } from './lock.js';

const system = await createSystem({ workers: 0, clock: 'virtual', logger: { level: 'warn' } });
system.on('transition', (t) => console.log(`  ${t.id}: ${String(t.from ?? '(start)')} -> ${String(t.to)} on ${t.event}`));

const door = await system.spawn(codeLock, { id: 'front-door', args: { code: '1234' } });
for (const b of '999') door.cast({ button: b });
console.log('after a wrong code:', await door.call('status'));
for (const b of '1234') door.cast({ button: b });
console.log('after the right code:', await door.call('status'));
for (const b of '12') door.cast({ button: b }); // postponed while open
await system.clock.advance(10_000);
console.log('10 s later:', await door.call('status'));
for (const b of '34') door.cast({ button: b }); // completes 1234 with the two postponed buttons
console.log('after the postponed 12 + 34:', await door.call('status'));
await system.shutdown();
