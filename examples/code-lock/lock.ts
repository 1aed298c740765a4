// The code lock from the gen_statem documentation: buttons build up a code; the right code opens
// the door for 10 seconds (a state timeout); buttons pressed while it is open wait (postpone)
// and count again once it has locked.
import { defineMachine, keep, keepAll, next, postpone, reply, stateTimeout } from 'threadstate';

export type LockData = { code: string; entered: string; opened: number };

export const codeLock = defineMachine({
  name: 'code_lock',
  init: (args: { code: string }) => ({ state: 'locked', data: { code: args.code, entered: '', opened: 0 } as LockData }),
  transitions: { locked: ['open'], open: ['locked'] },
  states: {
    locked: {
      enter: (_old, data: LockData) => keep({ ...data, entered: '' }),
      cast: (msg: { button: string }, data: LockData) => {
        const entered = (data.entered + msg.button).slice(-data.code.length);
        if (entered === data.code) return next('open', { ...data, entered: '', opened: data.opened + 1 }, [stateTimeout(10_000, 'lock')]);
        return keep({ ...data, entered });
      },
      call: (msg, _data, from) => keepAll([reply(from, msg === 'status' ? 'locked' : { error: 'locked' })]),
    },
    open: {
      state_timeout: (_msg, data: LockData) => next('locked', data),
      cast: () => keepAll([postpone()]),
      call: (msg, data: LockData, from) => keepAll([reply(from, msg === 'status' ? 'open' : { opened: data.opened })]),
    },
  },
});
