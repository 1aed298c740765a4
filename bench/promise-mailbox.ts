/**
 * The call baseline. XState has no request/reply, so this is the least a call needs: a queue,
 * one promise per message, and a handler run in a microtask that resolves it. No timeout, no
 * crash handling, no ordering with casts — a floor, not a feature match.
 */
export class PromiseMailbox<M, R> {
  private readonly msgs: M[] = [];
  private readonly resolvers: ((reply: R) => void)[] = [];
  private scheduled = false;

  constructor(private readonly handler: (msg: M) => R) {}

  call(msg: M): Promise<R> {
    return new Promise<R>((resolve) => {
      this.msgs.push(msg);
      this.resolvers.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.drain());
      }
    });
  }

  private drain(): void {
    this.scheduled = false;
    const msgs = this.msgs;
    const resolvers = this.resolvers;
    // A handler that calls this mailbox again appends; the loop re-reads the length and takes it too.
    for (let i = 0; i < msgs.length; i++) (resolvers[i] as (reply: R) => void)(this.handler(msgs[i] as M));
    msgs.length = 0;
    resolvers.length = 0;
  }
}
