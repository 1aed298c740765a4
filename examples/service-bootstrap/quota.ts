/**
 * Quota SLA governor — the seed's `quota_sla_governor` (Example 2), one per tenant and metric.
 *
 *   initializing ─set_quota→ active ─usage over the burst limit→ quota_exceeded ─(window resets)→ active
 *                            ▲  └─(window resets: usage back to 0)            │
 *                            │                                                └─(SLA chain: notice, then)→ paused ─(30 days)→ archived
 *                            └──────────────── reset_quota (an operator) ─────────────────────────────────────┘
 *
 * Usage is counted per window (60 minutes by default). Over the limit but within the burst
 * allowance (limit × burst multiplier) it is accepted and receipted; over the burst limit the
 * governor goes to `quota_exceeded` and refuses usage until the window resets.
 *
 * Timeouts, and why each is the kind it is:
 * - The window reset is the state timeout (the seed's `reset_window`). Going to `quota_exceeded`
 *   cancels it (a state change does), so that state re-arms it at the window's absolute end
 *   (`{ at: windowEndsAt }`): exceeding the quota must not move the window.
 * - The SLA escalation chain (not in the seed's code, which declares `paused` and `archived` but
 *   never enters them): a tenant still over its burst limit 10 minutes after the breach gets a
 *   breach notice; 20 minutes later it is paused for review — its usage is refused even after the
 *   window resets, until an operator resets the quota. This chain is a *named* timeout: the one
 *   state timeout is taken by the window, and the chain must be cancelled by hand when the window
 *   resets first (named timeouts are never cancelled implicitly).
 * - A paused quota nobody reviews is archived after 30 days.
 *
 * The seed also declares a `reset` state and never uses it; window resets are keep-state events
 * (or a return to `active`) here too, so it is left out. The seed's manual reset to `active` does
 * not re-arm the window timeout (a state change had cancelled it): it does here.
 */
import { cancelTimeout, defineMachine, keep, keepAll, next, receipt, reply, stateTimeout, timeout } from 'threadstate';
import type { ActorContext, From, Result } from 'threadstate';
import { accepted, MINUTE, refused } from './common.js';

export type QuotaState = 'initializing' | 'active' | 'quota_exceeded' | 'paused' | 'archived';

export interface QuotaTiming {
  /** How long a "minute" of `windowMinutes` lasts. */
  minuteMs: number;
  /** Breach → notice (10 minutes). */
  slaNoticeMs: number;
  /** Notice → paused (20 more minutes). */
  slaPauseMs: number;
  /** paused → archived (30 days). */
  archiveAfterMs: number;
}

export function quotaTiming(minute = MINUTE): QuotaTiming {
  return { minuteMs: minute, slaNoticeMs: 10 * minute, slaPauseMs: 20 * minute, archiveAfterMs: 30 * 24 * 60 * minute };
}

export interface QuotaArgs {
  tenant: string;
  timing?: QuotaTiming;
}

export interface QuotaConfig {
  metric: string;
  /** Default 10000 (the seed's). */
  limit?: number;
  /** Default 60. */
  windowMinutes?: number;
  /** Default 1.0: no burst. */
  burstMultiplier?: number;
}

export type QuotaCall =
  | ({ kind: 'set_quota' } & QuotaConfig)
  | { kind: 'record_usage'; metric: string; amount: number }
  | { kind: 'reset_quota'; reason: string }
  | { kind: 'get_usage'; metric: string }
  | { kind: 'get_state' };

export interface Usage {
  current: number;
  limit: number;
  percent: number;
}

type SlaStep = { step: 1 | 2 };

interface QuotaData {
  tenant: string;
  timing: QuotaTiming;
  metric: string | null;
  limit: number;
  windowMs: number;
  burstMultiplier: number;
  usage: number;
  windowEndsAt: number;
  breaches: number;
  /** Usage records refused since the last breach (while exceeded or paused). */
  refusedRecords: number;
}

/** A fresh window starting now: usage back to 0, the reset armed. */
function newWindow(d: QuotaData): [QuotaData, ReturnType<typeof stateTimeout>] {
  return [{ ...d, usage: 0, windowEndsAt: Date.now() + d.windowMs }, stateTimeout(d.windowMs, 'reset_window')];
}

/** The seed's validate_metric. */
function wrongMetric(state: QuotaState, d: QuotaData, metric: string, from: From): Result | null {
  return metric === d.metric ? null : keepAll([reply(from, refused(state, 'metric_mismatch', `configured ${String(d.metric)}, got ${metric}`))]);
}

function recordUsage(msg: { metric: string; amount: number }, d: QuotaData, from: From): Result {
  const bad = wrongMetric('active', d, msg.metric, from);
  if (bad !== null) return bad;
  const usage = d.usage + msg.amount;
  const burstLimit = Math.trunc(d.limit * d.burstMultiplier);
  if (usage > burstLimit) return next('quota_exceeded', { ...d, usage, breaches: d.breaches + 1, refusedRecords: 0 }, [reply(from, refused('quota_exceeded', 'quota_exceeded'))]);
  // The seed receipts every usage record; at metering rates the audit trail keeps the burst ones.
  if (usage > d.limit) return keep({ ...d, usage }, [reply(from, accepted('active', 'in_burst')), receipt('usage_recorded_in_burst', { usage, limit: d.limit })]);
  return keep({ ...d, usage }, [reply(from, accepted('active', 'recorded'))]);
}

/** Refused while exceeded or paused; counted. */
function refuseUsage(state: QuotaState, d: QuotaData, from: From): Result {
  return keep({ ...d, refusedRecords: d.refusedRecords + 1 }, [reply(from, refused(state, state))]);
}

/** An operator's reset: usage to 0, a fresh window, back to active. */
function manualReset(state: QuotaState, reason: string, d: QuotaData, from: From): Result {
  const [data, window] = newWindow(d);
  const actions = [reply(from, accepted('active', reason)), window, cancelTimeout('sla')];
  return state === 'active' ? keep(data, [...actions, receipt('manual_reset', { reason })]) : next('active', data, actions);
}

function slaEscalation(msg: SlaStep, d: QuotaData, ctx: ActorContext): Result {
  if (msg.step === 2) return next('paused', d);
  ctx.log.info({ tenant: d.tenant, usage: d.usage, limit: d.limit }, 'quota SLA breach notice');
  return keepAll([receipt('sla_breach_notice', { usage: d.usage, limit: d.limit }), timeout('sla', d.timing.slaPauseMs, { step: 2 } satisfies SlaStep)]);
}

/** Queries every state answers, and the seed's catch-all `{error, invalid_event}`. */
function common(state: QuotaState, msg: QuotaCall, d: QuotaData, from: From): Result {
  if (msg.kind === 'get_state') return keepAll([reply(from, state)]);
  if (msg.kind === 'get_usage' && d.metric !== null) {
    return wrongMetric(state, d, msg.metric, from) ?? keepAll([reply(from, { current: d.usage, limit: d.limit, percent: (d.usage / d.limit) * 100 } satisfies Usage)]);
  }
  return keepAll([reply(from, refused(state, state === 'initializing' ? 'not_configured' : 'invalid_event', msg.kind))]);
}

export const quotaGovernor = defineMachine<QuotaArgs, QuotaData>({
  name: 'quota_sla_governor',
  init: (args) => ({
    state: 'initializing',
    data: { tenant: args.tenant, timing: args.timing ?? quotaTiming(), metric: null, limit: 0, windowMs: 0, burstMultiplier: 1, usage: 0, windowEndsAt: 0, breaches: 0, refusedRecords: 0 },
  }),
  transitions: {
    initializing: ['active'],
    active: ['quota_exceeded'],
    quota_exceeded: ['active', 'paused'],
    paused: ['active', 'archived'],
    archived: [],
  },
  states: {
    initializing: {
      call: (msg: QuotaCall, d, from) => {
        if (msg.kind !== 'set_quota') return common('initializing', msg, d, from);
        const configured = { ...d, metric: msg.metric, limit: msg.limit ?? 10_000, windowMs: (msg.windowMinutes ?? 60) * d.timing.minuteMs, burstMultiplier: msg.burstMultiplier ?? 1.0 };
        const [data, window] = newWindow(configured);
        return next('active', data, [reply(from, accepted('active')), window]);
      },
    },
    active: {
      call: (msg: QuotaCall, d, from) => {
        if (msg.kind === 'record_usage') return recordUsage(msg, d, from);
        if (msg.kind === 'reset_quota') return manualReset('active', msg.reason, d, from);
        return common('active', msg, d, from);
      },
      state_timeout: (_msg: 'reset_window', d) => {
        const [data, window] = newWindow(d);
        return keep(data, [window, receipt('window_reset', { usage: d.usage })]);
      },
    },
    quota_exceeded: {
      // Keep the window's end (the state change cancelled its timeout) and start the SLA chain.
      enter: (_old, d) => keepAll([stateTimeout(0, 'reset_window', { at: d.windowEndsAt }), timeout('sla', d.timing.slaNoticeMs, { step: 1 } satisfies SlaStep)]),
      call: (msg: QuotaCall, d, from) => {
        if (msg.kind === 'record_usage') return refuseUsage('quota_exceeded', d, from);
        if (msg.kind === 'reset_quota') return manualReset('quota_exceeded', msg.reason, d, from);
        return common('quota_exceeded', msg, d, from);
      },
      state_timeout: (_msg: 'reset_window', d) => {
        const [data, window] = newWindow(d);
        return next('active', data, [window, cancelTimeout('sla')]);
      },
      generic_timeout: (msg: SlaStep, d, ctx) => slaEscalation(msg, d, ctx),
    },
    paused: {
      enter: (_old, d) => keepAll([stateTimeout(d.timing.archiveAfterMs, 'archive')]),
      call: (msg: QuotaCall, d, from) => {
        if (msg.kind === 'record_usage') return refuseUsage('paused', d, from);
        if (msg.kind === 'reset_quota') return manualReset('paused', msg.reason, d, from);
        return common('paused', msg, d, from);
      },
      state_timeout: (_msg: 'archive', d) => next('archived', d),
    },
    // Terminal.
    archived: {
      call: (msg: QuotaCall, d, from) => (msg.kind === 'record_usage' ? refuseUsage('archived', d, from) : common('archived', msg, d, from)),
    },
  },
});
