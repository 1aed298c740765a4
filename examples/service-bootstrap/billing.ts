/**
 * Billing governor — the seed's `billing_governor` (Example 1), one per tenant.
 *
 *   draft ─initialize→ active ─issue_invoice→ pending_payment ─payment ok→ paid ─(next cycle)→ active …
 *     │                                         │  ▲      │
 *     └─cancel→ terminated                      │  │      └─payment fails→ payment_failed ─(retry, backoff)─┐
 *                  ▲                            │  └────────────────────────────────────────────────────────┘
 *                  │                            ├─(3rd failed attempt, or the dunning chain runs out)→ suspended
 *     suspended ─(10 days)─┘                    └─dispute→ disputed ─resolved / window lapses→ active | pending_payment
 *
 * Timeouts, and why each is the kind it is:
 * - `paid` → `active` after the billing cycle, `payment_failed` → retry, `suspended` → `terminated`,
 *   `disputed` → window lapses: state timeouts, since each only means something in its state.
 * - Dunning (the seed's "escalation chain": first reminder after 3 days, second after 5 more,
 *   suspension after 7 more) is a *named* timeout: an unpaid invoice goes back and forth between
 *   `pending_payment` and `payment_failed` while payments are retried, and a state timeout would
 *   restart at every one of those changes. A named timeout is never cancelled implicitly, so each
 *   state that ends the chain (paid, disputed, suspended) cancels it in its enter call.
 * - A failed payment is retried after 1 hour, then 2, 4… (the seed's exponential backoff), up to
 *   3 attempts (the seed's limit), after which the account is suspended.
 *
 * The entitlement governor is told of suspension, reinstatement and termination by cast: a
 * notification that nobody waits for cannot deadlock. Charging an add-on, on the other hand, asks
 * the entitlement governor by call (the caller needs the answer) — see `chargeAddon`.
 */
import { cancelTimeout, DeadlockError, defineMachine, keep, keepAll, next, nextEvent, postpone, receipt, reply, stateTimeout, timeout } from 'threadstate';
import type { ActorContext, ActorRef, From, Result } from 'threadstate';
import { accepted, type Answer, DAY, errorName, refused } from './common.js';
import type { EntitlementCheck, EntitlementNotice } from './entitlement.js';

export type BillingState = 'draft' | 'active' | 'pending_payment' | 'payment_failed' | 'paid' | 'disputed' | 'suspended' | 'terminated';

/** A simulated card: 'flaky' fails its first attempt (processor timeout) and succeeds on retry. */
export type Card = 'ok' | 'declined' | 'flaky';
export interface PaymentDetails {
  card: Card;
  /** ISO 4217 code; default USD. */
  currency?: string;
}

export interface BillingTiming {
  /** paid → active: the billing cycle (30 days). */
  cycleMs: number;
  /** First retry after a failed payment (1 hour); doubles with each failed attempt. */
  retryBaseMs: number;
  /** Failed attempts before suspension (3). */
  maxAttempts: number;
  /** Dunning chain: first reminder, second reminder, suspension — each after the previous step (3, 5, 7 days). */
  dunningMs: readonly [number, number, number];
  /** suspended → terminated (10 days). */
  terminateAfterMs: number;
  /** An unresolved dispute lapses and the invoice is due again (not in the seed: 10 days). */
  disputeWindowMs: number;
}

/** The seed's durations, with `day` as long as you like (the bootstrap compresses days to milliseconds). */
export function billingTiming(day = DAY): BillingTiming {
  return { cycleMs: 30 * day, retryBaseMs: day / 24, maxAttempts: 3, dunningMs: [3 * day, 5 * day, 7 * day], terminateAfterMs: 10 * day, disputeWindowMs: 10 * day };
}

export interface BillingArgs {
  tenant: string;
  timing?: BillingTiming;
}

export type BillingCall =
  | { kind: 'initialize'; customer: string; amountUsd?: number; /** told of suspensions; asked before add-on charges */ entitlement?: ActorRef }
  | { kind: 'issue_invoice' }
  | { kind: 'process_payment'; details: PaymentDetails }
  | { kind: 'dispute'; reason: string }
  | { kind: 'resolve_dispute'; outcome: 'refund' | 'uphold' }
  | { kind: 'reinstate' }
  | { kind: 'charge_addon'; addon: string; amountUsd: number }
  | { kind: 'cancel' }
  | { kind: 'standing' }
  | { kind: 'get_state' };

/** The answer to `standing`: may this tenant be granted things? */
export interface Standing {
  state: BillingState;
  good: boolean;
  failedAttempts: number;
}

type DunningStep = { step: 1 | 2 | 3 };

interface BillingData {
  tenant: string;
  timing: BillingTiming;
  customer: string | null;
  amountUsd: number;
  entitlement: ActorRef | null;
  /** Invoices issued so far; the current one is number `invoice`. */
  invoice: number;
  /** Failed attempts on the current invoice. */
  failedAttempts: number;
  /** The details of the last attempt, reused by automatic retries. */
  payment: PaymentDetails | null;
  reminders: number;
  paidInvoices: number;
  addons: number;
  lastPaymentAt: number | null;
}

const GOOD_STANDING: ReadonlySet<BillingState> = new Set(['active', 'pending_payment', 'payment_failed', 'paid', 'disputed']);

/** The payment processor (simulated, deterministic). */
const USD_PER_UNIT: Readonly<Record<string, number>> = { USD: 1, EUR: 1.08, GBP: 1.27 };
type Charge = { ok: true; txId: string } | { ok: false; reason: string };
function chargeCustomer(d: BillingData, details: PaymentDetails, attempt: number): Charge {
  const currency = details.currency ?? 'USD';
  const rate = USD_PER_UNIT[currency];
  // Let it crash: a currency with no exchange rate is a bug upstream, not a business outcome.
  // The supervisor restarts the governor (the bootstrap sends one such payment on purpose).
  if (rate === undefined) throw new Error(`no exchange rate for ${currency}`);
  if (details.card === 'declined') return { ok: false, reason: 'card_declined' };
  if (details.card === 'flaky' && attempt === 1) return { ok: false, reason: 'processor_timeout' };
  return { ok: true, txId: `tx_${d.tenant}_${d.invoice}_${attempt}` };
}

/** One payment attempt on the current invoice, from a call (`from`) or an automatic retry. */
function attemptPayment(d: BillingData, details: PaymentDetails, from: From | null): Result {
  const attempt = d.failedAttempts + 1;
  const answer = (a: Answer) => (from === null ? [] : [reply(from, a)]);
  const charge = chargeCustomer(d, details, attempt);
  if (charge.ok) {
    const paid = { ...d, failedAttempts: 0, payment: null, reminders: 0, paidInvoices: d.paidInvoices + 1, lastPaymentAt: Date.now() };
    return next('paid', paid, answer(accepted('paid', attempt > 1 ? `paid on attempt ${attempt}` : undefined, charge.txId)));
  }
  const failed = { ...d, failedAttempts: attempt, payment: details };
  if (attempt >= d.timing.maxAttempts) return next('suspended', failed, answer(refused('suspended', 'payment_suspended', charge.reason)));
  const backoff = d.timing.retryBaseMs * 2 ** (attempt - 1);
  return next('payment_failed', failed, [...answer(refused('payment_failed', 'payment_failed', charge.reason)), stateTimeout(backoff, 'retry_payment')]);
}

/** The dunning chain: reminders, then suspension. Runs in pending_payment and payment_failed. */
function dunning(msg: DunningStep, d: BillingData, ctx: ActorContext): Result {
  if (msg.step === 3) return next('suspended', d);
  const which = msg.step === 1 ? 'first_reminder' : 'second_reminder';
  ctx.log.info({ tenant: d.tenant, invoice: d.invoice }, which);
  return keep({ ...d, reminders: msg.step }, [receipt(which, { invoice: d.invoice }), timeout('dunning', d.timing.dunningMs[msg.step], { step: msg.step + 1 })]);
}

function notify(d: BillingData, ctx: ActorContext, event: EntitlementNotice['event']): void {
  if (d.entitlement !== null) ctx.cast(d.entitlement, { kind: 'billing_notice', event } satisfies EntitlementNotice);
}

/**
 * Check entitlement before charging: an add-on is charged only to a tenant entitled to it, so the
 * billing governor asks the entitlement governor and waits. The entitlement governor, for its part,
 * checks billing standing before it grants — two governors that call each other. When both are at
 * it at once, the runtime refuses the call that would close the cycle with a DeadlockError instead
 * of letting both wait for their timeouts; here the charge is then refused, to be retried.
 */
async function chargeAddon(state: 'active' | 'paid', msg: { addon: string; amountUsd: number }, d: BillingData, from: From, ctx: ActorContext): Promise<Result> {
  if (d.entitlement === null) return keepAll([reply(from, refused(state, 'no_entitlement_governor'))]);
  let check: EntitlementCheck;
  try {
    check = await ctx.call<EntitlementCheck>(d.entitlement, { kind: 'check' }, { timeout: 1000 });
  } catch (err) {
    const answer: Answer = { ok: false, state, error: err instanceof DeadlockError ? 'deadlock' : 'entitlement_unavailable', detail: errorName(err) };
    if (err instanceof DeadlockError) answer.cycle = [...err.cycle];
    return keepAll([reply(from, answer)]);
  }
  if (!check.entitled) return keepAll([reply(from, refused(state, 'not_entitled', check.state))]);
  const txId = `tx_${d.tenant}_addon_${d.addons + 1}`;
  return keep({ ...d, addons: d.addons + 1 }, [reply(from, accepted(state, msg.addon, txId)), receipt('addon_charged', { addon: msg.addon, amountUsd: msg.amountUsd, txId })]);
}

/** Queries every state answers, and the seed's catch-all `{error, invalid_event}`. */
function common(state: BillingState, msg: BillingCall, d: BillingData, from: From): Result {
  if (msg.kind === 'get_state') return keepAll([reply(from, state)]);
  if (msg.kind === 'standing') return keepAll([reply(from, { state, good: GOOD_STANDING.has(state), failedAttempts: d.failedAttempts } satisfies Standing)]);
  return keepAll([reply(from, refused(state, 'invalid_event', msg.kind))]);
}

export const billingGovernor = defineMachine<BillingArgs, BillingData>({
  name: 'billing_governor',
  init: (args) => ({
    state: 'draft',
    data: { tenant: args.tenant, timing: args.timing ?? billingTiming(), customer: null, amountUsd: 0, entitlement: null, invoice: 0, failedAttempts: 0, payment: null, reminders: 0, paidInvoices: 0, addons: 0, lastPaymentAt: null },
  }),
  transitions: {
    draft: ['active', 'terminated'],
    active: ['pending_payment'],
    pending_payment: ['paid', 'payment_failed', 'suspended', 'disputed'],
    payment_failed: ['pending_payment', 'suspended', 'disputed'],
    paid: ['active'],
    disputed: ['active', 'pending_payment'],
    suspended: ['pending_payment', 'disputed', 'terminated'],
    terminated: [],
  },
  states: {
    draft: {
      call: (msg: BillingCall, d, from) => {
        if (msg.kind === 'initialize') {
          const data = { ...d, customer: msg.customer, amountUsd: msg.amountUsd ?? 99.99, entitlement: msg.entitlement ?? null };
          return next('active', data, [reply(from, accepted('active'))]);
        }
        if (msg.kind === 'cancel') return next('terminated', d, [reply(from, accepted('terminated'))]);
        return common('draft', msg, d, from);
      },
    },
    active: {
      call: (msg: BillingCall, d, from, ctx) => {
        if (msg.kind === 'issue_invoice') return next('pending_payment', { ...d, invoice: d.invoice + 1, failedAttempts: 0, reminders: 0 }, [reply(from, accepted('pending_payment'))]);
        if (msg.kind === 'charge_addon') return chargeAddon('active', msg, d, from, ctx);
        return common('active', msg, d, from);
      },
    },
    pending_payment: {
      // A new (or again due) invoice starts the dunning chain; back from a failed attempt it runs on.
      enter: (old, d) => (old === 'payment_failed' ? keepAll() : keepAll([timeout('dunning', d.timing.dunningMs[0], { step: 1 } satisfies DunningStep)])),
      call: (msg: BillingCall, d, from) => {
        if (msg.kind === 'process_payment') return attemptPayment(d, msg.details, from);
        if (msg.kind === 'dispute') return next('disputed', d, [reply(from, accepted('disputed'))]);
        return common('pending_payment', msg, d, from);
      },
      internal: (_msg: 'retry_charge', d) => attemptPayment(d, d.payment ?? { card: 'ok' }, null),
      generic_timeout: (msg: DunningStep, d, ctx) => dunning(msg, d, ctx),
    },
    payment_failed: {
      call: (msg: BillingCall, d, from) => {
        // Paying by hand pre-empts the scheduled retry: back to pending_payment, and the payment
        // (postponed) is handled there — gen_statem's `{next_state, S, D, [postpone]}`.
        if (msg.kind === 'process_payment') return next('pending_payment', d, [postpone()]);
        if (msg.kind === 'dispute') return next('disputed', d, [reply(from, accepted('disputed'))]);
        return common('payment_failed', msg, d, from);
      },
      state_timeout: (_msg: 'retry_payment', d) => next('pending_payment', d, [nextEvent('internal', 'retry_charge')]),
      generic_timeout: (msg: DunningStep, d, ctx) => dunning(msg, d, ctx),
    },
    paid: {
      enter: (_old, d) => keepAll([cancelTimeout('dunning'), stateTimeout(d.timing.cycleMs, 'next_cycle')]),
      call: (msg: BillingCall, d, from, ctx) => {
        if (msg.kind === 'charge_addon') return chargeAddon('paid', msg, d, from, ctx);
        return common('paid', msg, d, from);
      },
      state_timeout: (_msg: 'next_cycle', d) => next('active', d),
    },
    disputed: {
      // Collections pause while a dispute is open.
      enter: (_old, d) => keepAll([cancelTimeout('dunning'), stateTimeout(d.timing.disputeWindowMs, 'dispute_lapsed')]),
      call: (msg: BillingCall, d, from) => {
        if (msg.kind === 'resolve_dispute') {
          return msg.outcome === 'refund' ? next('active', d, [reply(from, accepted('active', 'invoice voided'))]) : next('pending_payment', d, [reply(from, accepted('pending_payment', 'invoice due again'))]);
        }
        return common('disputed', msg, d, from);
      },
      state_timeout: (_msg: 'dispute_lapsed', d) => next('pending_payment', d),
    },
    suspended: {
      enter: (_old, d, ctx) => {
        notify(d, ctx, 'suspended');
        return keepAll([cancelTimeout('dunning'), stateTimeout(d.timing.terminateAfterMs, 'escalate')]);
      },
      call: (msg: BillingCall, d, from, ctx) => {
        // The seed: a suspended account needs manual intervention; payments are refused.
        if (msg.kind === 'process_payment') return keepAll([reply(from, refused('suspended', 'account_suspended'))]);
        if (msg.kind === 'reinstate') {
          notify(d, ctx, 'reinstated');
          return next('pending_payment', { ...d, failedAttempts: 0, payment: null }, [reply(from, accepted('pending_payment'))]);
        }
        if (msg.kind === 'dispute') return next('disputed', d, [reply(from, accepted('disputed'))]);
        return common('suspended', msg, d, from);
      },
      state_timeout: (_msg: 'escalate', d) => next('terminated', d),
    },
    terminated: {
      enter: (_old, d, ctx) => {
        notify(d, ctx, 'terminated');
        return keepAll();
      },
      call: (msg: BillingCall, d, from) => common('terminated', msg, d, from),
    },
  },
});
