/**
 * The code lock of the gen_statem documentation (examples/code-lock): the right code opens the
 * door; a state timeout locks it again after 10 s; buttons pressed while open are postponed and
 * count once it is locked; a wrong code keeps it locked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ActorSystem, InvalidTransitionError, type TransitionEvent } from 'threadstate';
import { codeLock } from '../examples/code-lock/lock.js';
import { testSystem, WORKERS } from './helpers.js';

describe.each(WORKERS)('code lock (workers: %i)', (workers) => {
  let system: ActorSystem | null = null;
  afterEach(async () => {
    await system?.shutdown();
    system = null;
  });

  async function lockSystem() {
    const sys = await testSystem({ workers });
    system = sys;
    const transitions: string[] = [];
    sys.on('transition', (t: TransitionEvent) => transitions.push(`${String(t.from)}->${String(t.to)}:${t.event}`));
    const door = await sys.spawn(codeLock, { id: 'front-door', args: { code: '1234' } });
    const press = (buttons: string) => {
      for (const b of buttons) door.cast({ button: b });
    };
    return { system: sys, door, press, transitions };
  }

  it('stays locked on a wrong code and opens on the right one (only the last digits count)', async () => {
    const { door, press } = await lockSystem();
    press('12');
    press('999');
    expect(await door.call('status')).toBe('locked');
    press('991234');
    expect(await door.call('status')).toBe('open');
  });

  it('locks again exactly when the 10 s state timeout fires', async () => {
    const { system, door, press, transitions } = await lockSystem();
    press('1234');
    expect(await door.call('status')).toBe('open');
    await system.clock.advance(9_999);
    expect(await door.call('status')).toBe('open');
    await system.clock.advance(1);
    expect(await door.call('status')).toBe('locked');
    expect(transitions).toEqual(['undefined->locked:init', 'locked->open:cast', 'open->locked:state_timeout']);
  });

  it('a call while open does not restart the state timeout', async () => {
    const { system, door, press } = await lockSystem();
    press('1234');
    await system.clock.advance(5_000);
    expect(await door.call('status')).toBe('open');
    await system.clock.advance(5_000);
    expect(await door.call('status')).toBe('locked');
  });

  it('buttons pressed while open are postponed and count after it locks', async () => {
    const { system, door, press } = await lockSystem();
    press('1234');
    press('12'); // postponed: the door is open
    expect(await door.call('status')).toBe('open');
    await system.clock.advance(10_000);
    press('34'); // with the postponed 1 and 2: 1234 again
    expect(await door.call('status')).toBe('open');
    expect(await door.call('count')).toEqual({ opened: 2 });
  });
});

describe('code lock machine', () => {
  it('enforces its transitions table', () => {
    expect(codeLock.allowed?.get('locked')?.has('open')).toBe(true);
    expect(new InvalidTransitionError('code_lock', 'open', 'open').message).toContain('code_lock');
  });
});
