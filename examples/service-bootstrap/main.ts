/**
 * The service bootstrap: a supervision tree of billing, quota-SLA and entitlement governors (the
 * seed document's three governors) for 200 tenants on two worker-thread shards, driven for three
 * seconds of real time with a steady load. The seed's days and minutes are compressed so that
 * escalation chains run to their end during the run. On the way: a governor crashes on a poison
 * message and its supervisor restarts it at its last committed state (the governors are
 * persistent); two governors call each other and the runtime refuses the call that would
 * deadlock. Then a report and a clean shutdown — and a second system on the same journal, as a
 * restarted process would be, whose tree brings all 600 governors back from their snapshots.
 *
 *   npm start
 */
import { mkdirSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { ActorRef, child, createSystem, supervisor, SupervisorRef, type RestartEvent } from 'threadstate';
import { billingGovernor, billingTiming, type BillingCall, type Card } from './billing.js';
import { type Answer, errorName } from './common.js';
import { entitlementGovernor, entitlementTiming, type EntitlementCall, type Tier } from './entitlement.js';
import { quotaGovernor, quotaTiming, type QuotaCall } from './quota.js';

// ---------------------------------------------------------------- the scenario's parameters

const TENANTS = 200;
const TICK_MS = 10;
const LOAD_MS = 3000;
/** Time compression: one of the seed's days (billing, entitlements) or minutes (quota windows) lasts this many ms. */
const BILLING_DAY_MS = 50; // 30-day cycle: 1.5 s; dunning: reminders at 150 + 250 ms, suspension 350 ms later
const ENTITLEMENT_DAY_MS = 250; // review deadline 24 h: 250 ms; free tier's 7-day term: 1.75 s
const QUOTA_MINUTE_MS = 30; // 60-minute window: 1.8 s; SLA notice after 10 min (300 ms), pause 20 min later (600 ms)
const METRIC = 'api_calls';
const CRASH_TENANT = 13; // pays in a currency the billing governor has no exchange rate for
const DEADLOCK_TENANT = 24; // signs up late: its grant and an add-on charge cross

/** What each tenant does, fixed by its index so that the report's numbers can be checked. */
type PayProfile = 'pays' | 'flaky_card' | 'declined' | 'never_pays' | 'disputes';
interface Tenant {
  i: number;
  name: string;
  tier: Tier;
  pay: PayProfile;
  /** declined: the customer updates the card and finance reinstates the account. */
  updatesCard: boolean;
  /** disputes: resolved with a refund (else the dispute window lapses). */
  refund: boolean;
  /** Usage reported per tick (heavy tenants exceed the burst limit; spiky ones late in the window). */
  perTick: number;
  heavy: boolean;
  /** heavy: an operator reviews the paused quota and the tenant fixes its runaway job. */
  reviewed: boolean;
  lateSignup: boolean;
  /** The entitlement review never happens: the grant expires at its deadline. */
  reviewLapses: boolean;
  revoked: boolean;
  billing: ActorRef;
  quota: ActorRef;
  entitlement: ActorRef;
}

function profile(i: number): Omit<Tenant, 'billing' | 'quota' | 'entitlement'> {
  const pay: PayProfile = ({ 3: 'declined', 7: 'flaky_card', 11: 'never_pays', 15: 'disputes' } as Record<number, PayProfile>)[i % 20] ?? 'pays';
  const usage = i % 10; // 0 heavy (30/tick: over the burst limit by mid-window), 1 spiky (15: late in the window), 2 bursty (8: within burst), else 4
  return {
    i,
    name: `t${String(i).padStart(3, '0')}`,
    tier: (['free', 'standard', 'premium'] as const)[i % 3]!,
    pay,
    updatesCard: i % 40 === 3,
    refund: i % 40 === 15,
    perTick: [30, 15, 8][usage] ?? 4,
    heavy: usage === 0,
    reviewed: i % 20 === 0,
    lateSignup: i % 50 === 24,
    reviewLapses: i % 25 === 9,
    revoked: i % 25 === 17,
  };
}

// ---------------------------------------------------------------- the system and the tree

const t0 = performance.now();
// Logs (warnings and errors: the injected crash) go to stderr; the report to stdout.
const logger = pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
// Receipts go to the SQLite journal: a fresh file for each run of the example.
const DB = 'data/service-bootstrap.db';
mkdirSync('data', { recursive: true });
for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) rmSync(f, { force: true });
const system = await createSystem({ workers: 2, logger, db: DB });

// The events the report needs, recorded as they happen.
const transitions = new Map<string, Map<string, number>>(); // machine -> "from→to (event)" -> count
const receipts = new Map<string, number>();
const restarts: (RestartEvent & { at: number })[] = [];
const deadlocks: string[][] = [];
const crashes: string[] = [];
const restartWaiters = new Map<string, () => void>();
system.on('transition', (e) => {
  if (e.event === 'init') return;
  const byKey = transitions.get(e.machine) ?? new Map<string, number>();
  const key = `${String(e.from)}→${String(e.to)} (${e.event})`;
  byKey.set(key, (byKey.get(key) ?? 0) + 1);
  transitions.set(e.machine, byKey);
});
system.on('receipt', (e) => receipts.set(e.reason, (receipts.get(e.reason) ?? 0) + 1));
system.on('crash', (e) => {
  crashes.push(`${e.id} (${e.machine}) in '${String(e.state)}': ${describe(e.reason)}`);
  console.log(`  ! crash    ${e.id} in '${String(e.state)}': ${describe(e.reason)}`);
});
system.on('restart', (e) => {
  restarts.push({ ...e, at: performance.now() });
  console.log(`  ↻ restart  ${e.id} restarted by supervisor '${e.supervisor}'`);
  restartWaiters.get(e.id)?.();
});
system.on('deadlock', (e) => {
  deadlocks.push(e.cycle);
  console.log(`  ⊘ deadlock refused: ${[...e.cycle, e.cycle[0]].join(' → ')}`);
});

// One supervisor per kind of governor, each simple_one_for_one: one governor per tenant, started on
// demand from a template. The root restarts a kind's supervisor should its restarts run away.
// The governors are persistent: each transition's receipt and snapshot (state, data, armed
// timers) are committed before the caller hears the answer (durability 'commit').
const tree = () =>
  supervisor('governors', { strategy: 'one_for_one', intensity: 3, period: 10_000 }, [
    supervisor('billing_sup', { strategy: 'simple_one_for_one', intensity: 10, period: 10_000, template: child('billing', billingGovernor, { persistent: true }) }),
    supervisor('quota_sup', { strategy: 'simple_one_for_one', intensity: 10, period: 10_000, template: child('quota', quotaGovernor, { persistent: true }) }),
    supervisor('entitlement_sup', { strategy: 'simple_one_for_one', intensity: 10, period: 10_000, template: child('entitlement', entitlementGovernor, { persistent: true }) }),
  ]);
const root = await system.start(tree());
const sub = (id: string): SupervisorRef => {
  const ref = root.whichChildren().find((c) => c.id === id)?.ref;
  if (!(ref instanceof SupervisorRef)) throw new Error(`no supervisor '${id}'`);
  return ref;
};
const asActor = (ref: ActorRef | SupervisorRef): ActorRef => {
  if (!(ref instanceof ActorRef)) throw new Error(`expected a worker child, got supervisor '${ref.id}'`);
  return ref;
};

const timing = { billing: billingTiming(BILLING_DAY_MS), entitlement: entitlementTiming(ENTITLEMENT_DAY_MS), quota: quotaTiming(QUOTA_MINUTE_MS) };
const profiles = Array.from({ length: TENANTS }, (_, i) => profile(i));
// Billing first: an entitlement governor is given its tenant's billing governor.
const billingRefs = await Promise.all(profiles.map(async (p) => asActor(await sub('billing_sup').startChild({ tenant: p.name, timing: timing.billing }))));
const [quotaRefs, entitlementRefs] = await Promise.all([
  Promise.all(profiles.map(async (p) => asActor(await sub('quota_sup').startChild({ tenant: p.name, timing: timing.quota })))),
  Promise.all(profiles.map(async (p, i) => asActor(await sub('entitlement_sup').startChild({ tenant: p.name, tier: p.tier, billing: billingRefs[i]!, timing: timing.entitlement })))),
]);
const tenants: Tenant[] = profiles.map((p, i) => ({ ...p, billing: billingRefs[i]!, quota: quotaRefs[i]!, entitlement: entitlementRefs[i]! }));
const startedMs = performance.now() - t0;

// ---------------------------------------------------------------- the driver

const driver = { calls: 0, latencies: [] as number[], rejected: new Map<string, number>(), outcomes: new Map<string, number>() };
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** A call from outside the system, timed; rejections (crash, timeout…) are counted and rethrown. */
async function ask<T>(ref: ActorRef, msg: BillingCall | QuotaCall | EntitlementCall): Promise<T> {
  driver.calls++;
  const start = performance.now();
  try {
    return await ref.call<T>(msg, { timeout: 2000 });
  } catch (err) {
    count(driver.rejected, errorName(err));
    throw err;
  } finally {
    driver.latencies.push(performance.now() - start);
  }
}
const billing = (t: Tenant, msg: BillingCall) => ask<Answer>(t.billing, msg);
const quota = (t: Tenant, msg: QuotaCall) => ask<Answer>(t.quota, msg);
const entitlement = (t: Tenant, msg: EntitlementCall) => ask<Answer>(t.entitlement, msg);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const card = (t: Tenant): Card => (t.pay === 'flaky_card' ? 'flaky' : t.pay === 'declined' && !t.updatesCard ? 'declined' : 'ok');

// Scenario steps run alongside the usage load; each is awaited before the report.
const flows: Promise<unknown>[] = [];
const unexpected: string[] = [];
const flow = (what: string, fn: () => Promise<unknown>) => flows.push(fn().catch((err: unknown) => unexpected.push(`${what}: ${describe(err)}`)));

const crashStory: string[] = [];
const deadlockStory: string[] = [];

function scenario(tick: number): void {
  for (const t of tenants) {
    // Entitlements: granted (billing standing checked), then approved — or left to expire.
    if (tick === 0 && !t.lateSignup) {
      flow(`grant ${t.name}`, async () => {
        await entitlement(t, { kind: 'grant', customer: `cust-${t.name}` });
        if (!t.reviewLapses) await entitlement(t, { kind: 'approve', reviewer: 'auto' });
      });
    }
    // Invoices: the first billing run, payments (some fail, some never come), disputes.
    if (tick === 5 || tick === 200) flow(`invoice ${t.name}`, () => billing(t, { kind: 'issue_invoice' }));
    if (tick === 10) {
      if (t.pay === 'disputes') flow(`dispute ${t.name}`, () => billing(t, { kind: 'dispute', reason: 'not_received' }));
      else if (t.pay !== 'never_pays') flow(`pay ${t.name}`, () => billing(t, { kind: 'process_payment', details: { card: t.pay === 'declined' ? 'declined' : card(t) } }));
    }
    if (tick === 30 && t.pay === 'disputes' && t.refund) flow(`refund ${t.name}`, () => billing(t, { kind: 'resolve_dispute', outcome: 'refund' }));
    if (tick === 40 && t.updatesCard) {
      flow(`reinstate ${t.name}`, async () => {
        await billing(t, { kind: 'reinstate' });
        await billing(t, { kind: 'process_payment', details: { card: 'ok' } });
      });
    }
    if (tick === 70 && t.pay === 'disputes' && !t.refund) flow(`pay ${t.name}`, () => billing(t, { kind: 'process_payment', details: { card: 'ok' } })); // the dispute lapsed
    if (tick === 60 && t.tier === 'premium' && !t.lateSignup) flow(`addon ${t.name}`, () => billing(t, { kind: 'charge_addon', addon: 'audit_log', amountUsd: 19 }));
    if (tick === 210 && t.i !== CRASH_TENANT && t.pay !== 'never_pays') flow(`pay ${t.name}`, () => billing(t, { kind: 'process_payment', details: { card: card(t) } }));
    // Entitlement administration.
    if (tick === 100 && t.revoked) flow(`revoke ${t.name}`, () => entitlement(t, { kind: 'revoke', reason: 'policy_violation' }));
    if (tick === 150 && t.revoked) flow(`archive ${t.name}`, () => entitlement(t, { kind: 'archive' }));
    // Quota review: an operator resumes a paused tenant, which fixes its runaway job.
    if (tick === 160 && t.heavy && t.reviewed) {
      flow(`resume ${t.name}`, async () => {
        await quota(t, { kind: 'reset_quota', reason: 'operator_review' });
        t.perTick = 4;
      });
    }
    if (tick === 250 && t.lateSignup && t.i !== DEADLOCK_TENANT) {
      flow(`grant ${t.name}`, async () => {
        await entitlement(t, { kind: 'grant', customer: `cust-${t.name}` });
        await entitlement(t, { kind: 'approve', reviewer: 'auto' });
      });
    }
  }
  if (tick === 205) flow('crash', () => crashAndRecover(tenants[CRASH_TENANT]!));
  if (tick === 250) flow('deadlock', () => crossingCalls(tenants[DEADLOCK_TENANT]!));
}

/** A payment in a currency the governor has no rate for: it crashes; its supervisor restarts it. */
async function crashAndRecover(t: Tenant): Promise<void> {
  const restarted = new Promise<void>((resolve) => restartWaiters.set(t.billing.id, resolve));
  const before = await billing(t, { kind: 'get_state' });
  const sent = performance.now();
  const outcome = await billing(t, { kind: 'process_payment', details: { card: 'ok', currency: 'XTS' } }).then(
    (a) => `answered ${JSON.stringify(a)}`,
    (err: unknown) => `the call failed with ${errorName(err)}`,
  );
  await restarted;
  const restartMs = performance.now() - sent;
  const after = await billing(t, { kind: 'get_state' });
  crashStory.push(`${t.billing.id} (${t.name}) in '${stateName(before)}' got a payment in XTS: ${outcome}`);
  crashStory.push(`restarted by billing_sup ${restartMs.toFixed(1)} ms later from its snapshot: it answers again, in '${stateName(after)}', invoice and customer intact`);
  const paid = await billing(t, { kind: 'process_payment', details: { card: 'ok' } });
  crashStory.push(`the tenant pays in USD: now '${paid.state}'`);
}

function stateName(a: Answer | unknown): string {
  return typeof a === 'object' && a !== null && 'state' in a ? String((a as { state: unknown }).state) : String(a);
}

/**
 * The entitlement governor checks billing standing before granting; the billing governor checks
 * the entitlement before charging an add-on. Started together, each waits for the other.
 */
async function crossingCalls(t: Tenant): Promise<void> {
  const grant = entitlement(t, { kind: 'grant', customer: `cust-${t.name}` });
  await sleep(2); // the grant is in its identity check when the add-on charge arrives
  const addon = billing(t, { kind: 'charge_addon', addon: 'sso', amountUsd: 49 });
  const [g, a] = await Promise.all([grant, addon]);
  deadlockStory.push(`grant (checks billing standing) → ${show(g)}`);
  deadlockStory.push(`add-on charge (checks the entitlement) → ${show(a)}`);
  const approved = await entitlement(t, { kind: 'approve', reviewer: 'ops' });
  deadlockStory.push(`approval (re-checks billing standing) → ${show(approved)}`);
  const retried = await billing(t, { kind: 'charge_addon', addon: 'sso', amountUsd: 49 });
  deadlockStory.push(`add-on charge retried → ${show(retried)}`);
}

// Configure billing and quotas, then run the load: every tenant reports usage every tick.
await Promise.all(tenants.map((t) => billing(t, { kind: 'initialize', customer: `cust-${t.name}`, amountUsd: 99.99, entitlement: t.entitlement })));
await Promise.all(tenants.map((t) => quota(t, { kind: 'set_quota', metric: METRIC, limit: 1000, windowMinutes: 60, burstMultiplier: 1.5 })));
console.log(`threadstate service bootstrap: ${tenants.length * 3} governors (${TENANTS} tenants × billing, quota, entitlement) on ${system.workers} shards, started in ${startedMs.toFixed(0)} ms`);
console.log(`running ${LOAD_MS / 1000} s of load (a usage report per tenant every ${TICK_MS} ms, plus the billing and entitlement scenario)…`);

const loadStart = performance.now();
const callsBefore = driver.calls;
for (let tick = 0; tick * TICK_MS < LOAD_MS; tick++) {
  const wait = loadStart + tick * TICK_MS - performance.now();
  if (wait > 0) await sleep(wait);
  scenario(tick);
  await Promise.all(
    tenants.map((t) =>
      quota(t, { kind: 'record_usage', metric: METRIC, amount: t.perTick }).then(
        (a) => count(driver.outcomes, a.ok ? (a.detail ?? 'ok') : a.error),
        () => undefined,
      ),
    ),
  );
}
await Promise.all(flows);
const loadSeconds = (performance.now() - loadStart) / 1000;
const loadCalls = driver.calls - callsBefore;

// ---------------------------------------------------------------- the report

const kinds = [
  { kind: 'billing', machine: billingGovernor.name, refs: tenants.map((t) => t.billing) },
  { kind: 'quota', machine: quotaGovernor.name, refs: tenants.map((t) => t.quota) },
  { kind: 'entitlement', machine: entitlementGovernor.name, refs: tenants.map((t) => t.entitlement) },
];
console.log('\n=== report ===');
console.log('\ngovernors by state (system.stateOf):');
for (const k of kinds) {
  const states = await Promise.all(k.refs.map((r) => system.stateOf(r.id)));
  const byState = new Map<string, number>();
  for (const s of states) count(byState, String(s));
  const shards = new Map<string, number>();
  for (const r of k.refs) count(shards, `shard ${String(system.shardOf(r.id))}`);
  const list = [...byState].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ');
  console.log(`  ${k.kind.padEnd(12)} ${list}   [${[...shards].sort().map(([s, n]) => `${s}: ${n}`).join(', ')}]`);
}

const sorted = [...driver.latencies].sort((a, b) => a - b);
const pct = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(2);
const totalTransitions = [...transitions.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
console.log('\nload:');
const perSecond = loadCalls / loadSeconds;
console.log(`  ${loadCalls} calls from the driver in ${loadSeconds.toFixed(2)} s: ${(perSecond / 1000).toFixed(1)} k calls/s = ${((2 * perSecond) / 1000).toFixed(1)} k msg/s across threads (request + reply),`);
console.log(`  latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms (${TENANTS} calls in flight every ${TICK_MS} ms), plus the governors' own calls and casts to each other`);
console.log(`  usage reports: ${[...driver.outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}`);
console.log(`  ${totalTransitions} state transitions; calls rejected: ${driver.rejected.size === 0 ? 'none' : [...driver.rejected].map(([e, n]) => `${e} ${n}`).join(', ')}`);

const tr = (machine: string, pattern: string) => [...(transitions.get(machine) ?? new Map<string, number>())].filter(([k]) => k.startsWith(pattern)).reduce((n, [, c]) => n + c, 0);
const rc = (reason: string) => receipts.get(reason) ?? 0;
const B = billingGovernor.name, Q = quotaGovernor.name, E = entitlementGovernor.name;
console.log('\ntimeouts, retries and escalations (from the transition and receipt events):');
console.log(`  billing      ${tr(B, 'active→pending_payment')} invoices issued, ${tr(B, 'pending_payment→paid')} paid; ${tr(B, 'pending_payment→payment_failed')} payments failed, ${tr(B, 'payment_failed→pending_payment (state_timeout)')} retried after backoff;`);
console.log(`               dunning: ${rc('first_reminder')} first and ${rc('second_reminder')} second reminders, ${tr(B, 'pending_payment→suspended (generic_timeout)')} suspended for non-payment, ${tr(B, 'pending_payment→suspended (internal)')} after ${timing.billing.maxAttempts} failed attempts;`);
console.log(`               ${tr(B, 'suspended→terminated (state_timeout)')} terminated after suspension, ${tr(B, 'suspended→pending_payment')} reinstated; disputes: ${tr(B, 'disputed→active')} refunded, ${tr(B, 'disputed→pending_payment (state_timeout)')} lapsed`);
console.log(`  quota        ${tr(Q, 'active→quota_exceeded')} burst limits exceeded, ${rc('usage_recorded_in_burst')} usage records in burst; SLA: ${rc('sla_breach_notice')} breach notices, ${tr(Q, 'quota_exceeded→paused (generic_timeout)')} paused;`);
console.log(`               ${tr(Q, 'quota_exceeded→active (state_timeout)')} windows reset an exceeded quota, ${tr(Q, 'paused→active')} paused quotas resumed by an operator`);
console.log(`  entitlement  ${tr(E, 'unentitled→pending_review')} granted, ${tr(E, 'pending_review→entitled')} approved, ${tr(E, 'pending_review→expired (state_timeout)')} review deadlines missed, ${tr(E, 'entitled→expired (state_timeout)')} terms ended;`);
console.log(`               ${tr(E, 'entitled→suspended (cast)') + tr(E, 'pending_review→suspended (cast)')} suspended by billing notices, ${tr(E, 'suspended→entitled (cast)')} reinstated, ${tr(E, 'suspended→escalated')} escalated, ${tr(E, 'entitled→revoked')} revoked, ${tr(E, 'archived→expired')} archived and expired`);

console.log('\ncrash and restart:');
for (const line of crashStory) console.log(`  ${line}`);
console.log(`  crashes: ${crashes.length}, restarts: ${restarts.length} (${restarts.map((r) => `${r.id} by ${r.supervisor}: ${describe(r.reason)}`).join('; ')})`);

console.log('\ndeadlock:');
// cycle[0] made the refused call (to cycle[1]); the others were already waiting, each for the next.
for (const cycle of deadlocks) console.log(`  ${tenants[DEADLOCK_TENANT]!.name}: ${cycle[0]} called ${cycle[1]} while ${cycle.slice(1).join(', ')} waited for ${cycle[0]}: refused at once with DeadlockError (cycle ${[...cycle, cycle[0]].join(' → ')})`);
for (const line of deadlockStory) console.log(`  ${line}`);

console.log('\nreceipts:');
console.log(`  ${totalTransitions} transitions and ${[...receipts.values()].reduce((a, b) => a + b, 0)} explicit receipts (${[...receipts].map(([r, n]) => `${r} ${n}`).join(', ')})`);
console.log(`  are in the journal ${DB} (SQLite, WAL, hash-chained per actor). For example:`);
for (const id of [restarts[0]?.id, 'quota-1'].filter((x): x is string => x !== undefined)) {
  const rows = await system.receipts(id);
  const last = rows[rows.length - 1];
  const check = await system.verifyReceipts(id);
  if (last !== undefined) {
    console.log(`  ${id}: ${rows.length} receipts; the last, #${last.seq}: ${JSON.stringify(last.from)} → ${JSON.stringify(last.to)} on ${last.event.kind}${last.event.type !== null ? ` '${last.event.type}'` : ''}; chain ${check.ok ? 'verifies' : `BROKEN at ${check.brokenAt}`}`);
  }
}
console.log(`  read them: node dist/runtime/cli.js receipts ${DB} <actor-id>    check them all: node dist/runtime/cli.js verify ${DB}`);
if (unexpected.length > 0) {
  console.log('\nunexpected:');
  for (const u of unexpected) console.log(`  ${u}`);
}

const statesBefore = new Map<string, unknown>();
for (const k of kinds) for (const r of k.refs) statesBefore.set(r.id, await system.stateOf(r.id));
await system.shutdown();
console.log(`\nshut down cleanly after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// ---------------------------------------------------------------- recovery, as after a restart

// A new system on the same journal, as the service would be after its process restarted: the
// same tree, and each simple_one_for_one supervisor brings back the persistent governors it had.
const recoveryStart = performance.now();
const again = await createSystem({ workers: 2, logger, db: DB });
const recoveredTimeouts = new Map<string, number>();
again.on('transition', (e) => {
  if (e.event === 'state_timeout' || e.event === 'generic_timeout' || e.event === 'timeout') count(recoveredTimeouts, `${e.machine} ${String(e.from)}→${String(e.to)}`);
});
const againRoot = await again.start(tree());
const recoveryMs = performance.now() - recoveryStart;
const back = againRoot.whichChildren().map((c) => (c.ref instanceof SupervisorRef ? c.ref.countChildren().workers : 0)).reduce((a, b) => a + b, 0);
let same = 0;
for (const [id, state] of statesBefore) if (JSON.stringify(await again.stateOf(id)) === JSON.stringify(state)) same++;
const crashed = tenants[CRASH_TENANT]!;
console.log('\nrecovery (a second system on the same journal, as after a process restart):');
console.log(`  ${back} persistent governors brought back under their supervisors in ${recoveryMs.toFixed(0)} ms (shards started included)`);
console.log(`  ${same} of ${statesBefore.size} in the state they were in at shutdown; the others had timers that fell due while the system was down, fired on recovery in deadline order:`);
console.log(`    ${[...recoveredTimeouts].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
const answer = await again.ref(crashed.billing.id).call({ kind: 'get_state' });
console.log(`  ${crashed.billing.id} (the governor that crashed): '${stateName(answer)}'; its receipts chain ${(await again.verifyReceipts(crashed.billing.id)).ok ? 'verifies' : 'is BROKEN'}`);
await again.shutdown();
console.log(`\ndone after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'object' && reason !== null && 'message' in reason) return `${errorName(reason)}: ${String((reason as { message: unknown }).message)}`;
  return typeof reason === 'string' ? reason : JSON.stringify(reason);
}

function show(a: Answer): string {
  if (a.ok) return `ok, now '${a.state}'${a.detail !== undefined ? ` (${a.detail})` : ''}`;
  return `refused: ${a.error}${a.detail !== undefined ? ` (${a.detail})` : ''}${a.cycle !== undefined ? ` (cycle ${a.cycle.join(' → ')})` : ''}, stays '${a.state}'`;
}
