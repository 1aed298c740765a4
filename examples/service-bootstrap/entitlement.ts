/**
 * Entitlement governor — the seed's entitlement FSM ("State Transition Table"), one per tenant.
 *
 *   unentitled ─grant→ pending_review ─approve→ entitled ─revoke→ revoked ─archive→ archived ─(24 h)→ expired
 *                           │    └─(review deadline)→ expired   │  └─(term ends)→ expired
 *                           └─suspend→ suspended ←─suspend──────┘
 *                                        ├─reinstate→ entitled
 *                                        └─escalate / (3 days)→ escalated ─archive→ archived
 *
 * Timeouts:
 * - The review has an absolute deadline (the seed's "Absolute Deadline", 24 hours after the grant):
 *   an unreviewed grant expires. Absolute (`{ at }`), because it is a compliance promise made at
 *   grant time, whatever happens in between.
 * - An entitlement's term depends on the tier (the seed's "Conditional Timeout": premium 30 days,
 *   standard 14, free 7) and is kept as an absolute `expiresAt`, so that a suspension does not
 *   extend it: reinstating re-arms the same deadline (leaving `entitled` cancelled its state timeout).
 * - A suspension nobody resolves escalates after 3 days (the seed gives the transition, not the
 *   delay); an archived entitlement expires after 24 hours (the seed's "Simple Fixed Timeout").
 *
 * Before granting, the governor checks the tenant's billing standing (a call: access control needs
 * the answer). The billing governor may at that moment be checking this entitlement before
 * charging an add-on: then the runtime refuses the call that closes the cycle (DeadlockError); the
 * grant goes to review with its standing unverified, and the approval checks it again.
 *
 * Billing tells this governor of suspensions, reinstatements and terminations by cast
 * (`billing_notice`); every state accepts the notice and ignores what does not concern it.
 */
import { DeadlockError, defineMachine, keep, keepAll, next, reply, stateTimeout } from 'threadstate';
import type { ActorContext, ActorRef, From, Result } from 'threadstate';
import { accepted, type Answer, DAY, errorName, refused } from './common.js';
import type { Standing } from './billing.js';

export type EntitlementState = 'unentitled' | 'pending_review' | 'entitled' | 'suspended' | 'escalated' | 'revoked' | 'archived' | 'expired';
export type Tier = 'free' | 'standard' | 'premium';

export interface EntitlementTiming {
  /** grant → review must be done by (24 hours, absolute). */
  reviewDeadlineMs: number;
  /** entitled → expired, per tier (7 / 14 / 30 days). */
  termMs: Readonly<Record<Tier, number>>;
  /** suspended → escalated (3 days). */
  escalateAfterMs: number;
  /** archived → expired (24 hours). */
  archiveExpiryMs: number;
  /** Latency of the identity check a grant makes at an external provider (simulated; real time). */
  identityCheckMs: number;
}

export function entitlementTiming(day = DAY, identityCheckMs = 20): EntitlementTiming {
  const hour = day / 24;
  return { reviewDeadlineMs: 24 * hour, termMs: { free: 7 * day, standard: 14 * day, premium: 30 * day }, escalateAfterMs: 3 * day, archiveExpiryMs: 24 * hour, identityCheckMs };
}

export interface EntitlementArgs {
  tenant: string;
  tier: Tier;
  /** The tenant's billing governor: its standing is checked before a grant. */
  billing: ActorRef;
  timing?: EntitlementTiming;
}

export type EntitlementCall =
  | { kind: 'grant'; customer: string }
  | { kind: 'approve'; reviewer: string }
  | { kind: 'suspend'; reason: string }
  | { kind: 'reinstate' }
  | { kind: 'escalate' }
  | { kind: 'revoke'; reason: string }
  | { kind: 'archive' }
  | { kind: 'expire' }
  | { kind: 'check' }
  | { kind: 'get_state' };

/** Cast by the billing governor. */
export interface EntitlementNotice {
  kind: 'billing_notice';
  event: 'suspended' | 'reinstated' | 'terminated';
}

/** The answer to `check`. */
export interface EntitlementCheck {
  state: EntitlementState;
  entitled: boolean;
  tier: Tier;
}

interface EntitlementData {
  tenant: string;
  tier: Tier;
  billing: ActorRef;
  timing: EntitlementTiming;
  customer: string | null;
  /** Absolute end of the term, set on approval. */
  expiresAt: number | null;
  /** false: granted while billing standing could not be checked; the approval checks again. */
  standingVerified: boolean;
  reason: string | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Billing standing, or why it is unknown. */
async function billingStanding(d: EntitlementData, ctx: ActorContext): Promise<{ standing: Standing } | { unknown: string; cycle?: string[] }> {
  try {
    return { standing: await ctx.call<Standing>(d.billing, { kind: 'standing' }, { timeout: 1000 }) };
  } catch (err) {
    return err instanceof DeadlockError ? { unknown: 'deadlock', cycle: [...err.cycle] } : { unknown: errorName(err) };
  }
}

async function grant(msg: { customer: string }, d: EntitlementData, from: From, ctx: ActorContext): Promise<Result> {
  // The identity check at an external provider: the governor takes no other event meanwhile.
  await sleep(d.timing.identityCheckMs);
  const billing = await billingStanding(d, ctx);
  if ('standing' in billing && !billing.standing.good) return keepAll([reply(from, refused('unentitled', 'billing_not_in_good_standing', billing.standing.state))]);
  const verified = 'standing' in billing;
  const deadline = Date.now() + d.timing.reviewDeadlineMs;
  const answer = accepted('pending_review', verified ? undefined : `billing standing unverified: ${'unknown' in billing ? billing.unknown : ''}`);
  return next('pending_review', { ...d, customer: msg.customer, standingVerified: verified }, [reply(from, answer), stateTimeout(0, 'deadline_exceeded', { at: deadline })]);
}

async function approve(d: EntitlementData, from: From, ctx: ActorContext): Promise<Result> {
  if (!d.standingVerified) {
    const billing = await billingStanding(d, ctx);
    if (!('standing' in billing)) return keepAll([reply(from, refused('pending_review', 'billing_standing_unknown', billing.unknown))]);
    if (!billing.standing.good) return keepAll([reply(from, refused('pending_review', 'billing_not_in_good_standing', billing.standing.state))]);
  }
  const expiresAt = Date.now() + d.timing.termMs[d.tier];
  return next('entitled', { ...d, standingVerified: true, expiresAt }, [reply(from, accepted('entitled'))]);
}

function suspend(d: EntitlementData, reason: string, from: From | null): Result {
  return next('suspended', { ...d, reason }, from === null ? [] : [reply(from, accepted('suspended'))]);
}

/** The seed's validate_revocation: a revocation needs a reason. */
function revoke(d: EntitlementData, reason: string, from: From | null): Result {
  if (reason.length === 0) return keepAll(from === null ? [] : [reply(from, refused('entitled', 'invalid_reason'))]);
  return next('revoked', { ...d, reason }, from === null ? [] : [reply(from, accepted('revoked'))]);
}

/** Queries every state answers, and the seed's catch-all `{error, invalid_event}`. */
function common(state: EntitlementState, msg: EntitlementCall, d: EntitlementData, from: From): Result {
  if (msg.kind === 'get_state') return keepAll([reply(from, state)]);
  if (msg.kind === 'check') return keepAll([reply(from, { state, entitled: state === 'entitled', tier: d.tier } satisfies EntitlementCheck)]);
  return keepAll([reply(from, refused(state, 'invalid_event', msg.kind) satisfies Answer)]);
}

/** A billing notice that does not concern the current state. */
const ignoreNotice = () => keepAll();

export const entitlementGovernor = defineMachine<EntitlementArgs, EntitlementData>({
  name: 'entitlement_governor',
  init: (args) => ({
    state: 'unentitled',
    data: { tenant: args.tenant, tier: args.tier, billing: args.billing, timing: args.timing ?? entitlementTiming(), customer: null, expiresAt: null, standingVerified: false, reason: null },
  }),
  transitions: {
    unentitled: ['pending_review'],
    pending_review: ['suspended', 'entitled', 'expired'],
    entitled: ['revoked', 'suspended', 'expired'],
    suspended: ['escalated', 'entitled'],
    escalated: ['archived'],
    revoked: ['archived'],
    archived: ['expired'],
    expired: [],
  },
  states: {
    unentitled: {
      call: (msg: EntitlementCall, d, from, ctx) => (msg.kind === 'grant' ? grant(msg, d, from, ctx) : common('unentitled', msg, d, from)),
      cast: ignoreNotice,
    },
    pending_review: {
      call: (msg: EntitlementCall, d, from, ctx) => {
        if (msg.kind === 'approve') return approve(d, from, ctx);
        if (msg.kind === 'suspend') return suspend(d, msg.reason, from);
        return common('pending_review', msg, d, from);
      },
      cast: (msg: EntitlementNotice, d) => (msg.event === 'reinstated' ? keepAll() : suspend(d, `billing_${msg.event}`, null)),
      state_timeout: (_msg: 'deadline_exceeded', d) => next('expired', { ...d, reason: 'review_deadline_missed' }),
    },
    entitled: {
      // Arms the end of the term: on approval, and again on reinstatement (same absolute deadline).
      enter: (_old, d) => {
        const expiresAt = d.expiresAt ?? Date.now() + d.timing.termMs[d.tier];
        return keep({ ...d, expiresAt }, [stateTimeout(0, 'term_ended', { at: expiresAt })]);
      },
      call: (msg: EntitlementCall, d, from) => {
        if (msg.kind === 'revoke') return revoke(d, msg.reason, from);
        if (msg.kind === 'suspend') return suspend(d, msg.reason, from);
        return common('entitled', msg, d, from);
      },
      cast: (msg: EntitlementNotice, d) => {
        if (msg.event === 'suspended') return suspend(d, 'billing_suspended', null);
        if (msg.event === 'terminated') return revoke(d, 'billing_terminated', null);
        return keepAll();
      },
      state_timeout: (_msg: 'term_ended', d) => next('expired', { ...d, reason: 'term_ended' }),
    },
    suspended: {
      enter: (_old, d) => keepAll([stateTimeout(d.timing.escalateAfterMs, 'escalate')]),
      call: (msg: EntitlementCall, d, from) => {
        if (msg.kind === 'reinstate') return next('entitled', d, [reply(from, accepted('entitled'))]);
        if (msg.kind === 'escalate') return next('escalated', d, [reply(from, accepted('escalated'))]);
        return common('suspended', msg, d, from);
      },
      cast: (msg: EntitlementNotice, d) => {
        if (msg.event === 'reinstated') return next('entitled', { ...d, reason: null });
        if (msg.event === 'terminated') return next('escalated', { ...d, reason: 'billing_terminated' });
        return keepAll();
      },
      state_timeout: (_msg: 'escalate', d) => next('escalated', { ...d, reason: d.reason ?? 'suspension_unresolved' }),
    },
    escalated: {
      call: (msg: EntitlementCall, d, from) => (msg.kind === 'archive' ? next('archived', d, [reply(from, accepted('archived'))]) : common('escalated', msg, d, from)),
      cast: ignoreNotice,
    },
    revoked: {
      call: (msg: EntitlementCall, d, from) => (msg.kind === 'archive' ? next('archived', d, [reply(from, accepted('archived'))]) : common('revoked', msg, d, from)),
      cast: ignoreNotice,
    },
    archived: {
      enter: (_old, d) => keepAll([stateTimeout(d.timing.archiveExpiryMs, 'expire')]),
      call: (msg: EntitlementCall, d, from) => (msg.kind === 'expire' ? next('expired', d, [reply(from, accepted('expired'))]) : common('archived', msg, d, from)),
      cast: ignoreNotice,
      state_timeout: (_msg: 'expire', d) => next('expired', d),
    },
    // Terminal: answers queries, refuses everything else.
    expired: {
      call: (msg: EntitlementCall, d, from) => common('expired', msg, d, from),
      cast: ignoreNotice,
    },
  },
});
