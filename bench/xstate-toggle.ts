/** The XState 5 baseline: the same toggle machine, and its delayed-transition variant. */
import { createMachine } from 'xstate';

export const XTOGGLE = { type: 'TOGGLE' } as const;

export const xToggle = createMachine({
  id: 'toggle',
  initial: 'inactive',
  states: {
    inactive: { on: { TOGGLE: 'active' } },
    active: { on: { TOGGLE: 'inactive' } },
  },
});

/** `active` falls back to `inactive` after 60 s: XState arms one setTimeout per actor for it. */
export const xTimedToggle = createMachine({
  id: 'timed_toggle',
  initial: 'inactive',
  states: {
    inactive: { on: { TOGGLE: 'active' } },
    active: { after: { 60_000: 'inactive' }, on: { TOGGLE: 'inactive' } },
  },
});
