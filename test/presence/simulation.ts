/**
 * A small world for the property tests: 1–3 users with 1–3 devices each, random commands at times that
 * only move forward, random (valid) timings and random privacy relations, some of which cannot be read.
 *
 * `simulate` drives the pure core the way the server does — a sweeper ticks every user whose `nextDue`
 * has passed, at that time or late — and records everything a property may want to check: each
 * `apply` with the state before it, and what every viewer is shown after each step. Alongside, it keeps
 * its own model of device liveness taken straight from product.md (a heartbeat keeps a device until
 * `now + TTL`; a closed socket until `now + grace`; a sign-off ends it), so liveness is not judged by
 * the code under test.
 */
import fc from 'fast-check';
import {
  ACTIVITIES,
  MANUAL_STATUSES,
  PLATFORMS,
  PRIVACY_MODES,
  apply,
  decideVisibility,
  initialState,
  makeTiming,
  nextDue,
  selfView,
  viewPresence,
  type Activity,
  type Applied,
  type Command,
  type ManualStatus,
  type Platform,
  type PresenceView,
  type PrivacyMode,
  type Relation,
  type SelfView,
  type Timing,
  type TimingInput,
  type UserId,
  type UserState,
} from '../../presence/index.js';
import { DAY, T0, deepFreeze } from './fixtures.js';

export type Action =
  | { readonly kind: 'heartbeat'; readonly device: number; readonly platform: Platform; readonly activity: Activity | undefined }
  | { readonly kind: 'disconnect'; readonly device: number }
  | { readonly kind: 'signOff'; readonly device: number }
  | { readonly kind: 'setManual'; readonly manual: ManualStatus }
  | { readonly kind: 'tick' }
  | { readonly kind: 'setPrivacy'; readonly mode: PrivacyMode }
  | { readonly kind: 'contact'; readonly other: number; readonly on: boolean }
  | { readonly kind: 'block'; readonly other: number; readonly on: boolean };

/**
 * Time since the previous step: absolute, or a share (in ‰) of the TTL or grace window, so steps land
 * near their ends whatever the timing. Integers, because they shrink to a readable counterexample fast.
 */
export type Gap = { readonly ms: number } | { readonly ttlPermille: number } | { readonly gracePermille: number };

export interface Step {
  /** Time since the previous step; time never goes back. */
  readonly gap: Gap;
  /** Whose action (index, taken modulo the number of users). */
  readonly user: number;
  readonly action: Action;
  /** The sweeper ticks a due user at its due time, or late (at this step's time). */
  readonly sweepLate: boolean;
  /** Bit `target * 3 + viewer` set: that relation cannot be read (graph down). */
  readonly unreadableRelations: number;
  /** Bit `viewer` set: that viewer's own privacy mode cannot be read. */
  readonly unreadablePrivacy: number;
  /** The hot store cannot be read for this step's views. */
  readonly hotDown: boolean;
}

export interface Scenario {
  readonly timing: Timing;
  readonly start: number;
  /** Devices per user; the number of users is its length (1–3). */
  readonly devices: readonly number[];
  readonly privacy: readonly PrivacyMode[];
  /** `contacts[target][viewer]`: the target lists the viewer. */
  readonly contacts: readonly (readonly boolean[])[];
  /** `blocks[target][viewer]`: the target blocked the viewer. */
  readonly blocks: readonly (readonly boolean[])[];
  readonly steps: readonly Step[];
}

/** One call of `apply`, as the simulation made it. */
export interface Application {
  readonly userId: UserId;
  readonly command: Command;
  /** Made by the sweeper rather than by the user. */
  readonly bySweeper: boolean;
  readonly before: UserState;
  readonly result: Applied;
  /** Devices the model holds live at `command.now`, before and after the command. */
  readonly liveBefore: ReadonlySet<string>;
  readonly liveAfter: ReadonlySet<string>;
  /** `nextDue` of the resulting state, and the result of ticking one millisecond before it. */
  readonly due: number | null;
  readonly tickBeforeDue: Applied | null;
}

/** What one viewer is shown of one target after a step. */
export interface Look {
  readonly now: number;
  readonly viewerId: UserId;
  readonly targetId: UserId;
  readonly relation: Relation | undefined;
  readonly viewerPrivacy: PrivacyMode | undefined;
  readonly hotDown: boolean;
  readonly view: PresenceView;
  readonly targetManual: ManualStatus;
  /** Devices of the target the model holds live at `now`. */
  readonly targetLiveDevices: number;
}

export interface Trace {
  readonly timing: Timing;
  readonly applications: readonly Application[];
  readonly looks: readonly Look[];
  readonly selfViews: readonly SelfView[];
}

export const userIds = ['u1', 'u2', 'u3'] as const;

function deviceId(userId: UserId, index: number): string {
  return `${userId}-d${index + 1}`;
}

/** Timings that pass `makeTiming`, from tight (TTL of a few ms) to the defaults and beyond. */
export const timingArb: fc.Arbitrary<Timing> = fc
  .record({
    heartbeatMs: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 60_000 }), fc.constant(30_000)),
    jitterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 })),
    ttlAboveFloorMs: fc.option(fc.integer({ min: 1, max: 120_000 }), { nil: undefined }),
    gracePermille: fc.oneof(fc.constant(0), fc.constant(1_000), fc.integer({ min: 0, max: 1_000 })),
    idleMs: fc.option(fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 900_000 })), { nil: undefined }),
  })
  .map(({ heartbeatMs, jitterMs, ttlAboveFloorMs, gracePermille, idleMs }): TimingInput => {
    const ttlMs = ttlAboveFloorMs === undefined ? undefined : 2 * heartbeatMs + jitterMs + ttlAboveFloorMs;
    const ttlForGrace = ttlMs ?? 2 * heartbeatMs + 2 * jitterMs;
    return { heartbeatMs, jitterMs, ttlMs, graceMs: Math.floor((gracePermille * ttlForGrace) / 1_000), idleMs };
  })
  .map((input) => makeTiming(input))
  .filter((result): result is { ok: true; timing: Timing } => result.ok)
  .map((result) => result.timing);

const gapArb: fc.Arbitrary<Gap> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ ms: fc.integer({ min: 0, max: 5_000 }) }) },
  { weight: 4, arbitrary: fc.record({ ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 2, arbitrary: fc.record({ ms: fc.integer({ min: 0, max: 200_000 }) }) },
  { weight: 1, arbitrary: fc.record({ ms: fc.integer({ min: 0, max: 3 * DAY }) }) },
  { weight: 6, arbitrary: fc.record({ ttlPermille: fc.integer({ min: 0, max: 1_250 }) }) },
  { weight: 6, arbitrary: fc.record({ gracePermille: fc.integer({ min: 0, max: 1_250 }) }) },
);

function gapMs(gap: Gap, timing: Timing): number {
  if ('ms' in gap) return gap.ms;
  if ('ttlPermille' in gap) return Math.floor((gap.ttlPermille * timing.ttlMs) / 1_000);
  return Math.floor((gap.gracePermille * timing.graceMs) / 1_000);
}

const index = fc.integer({ min: 0, max: 2 });

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('heartbeat' as const),
      device: index,
      platform: fc.constantFrom(...PLATFORMS),
      activity: fc.option(fc.constantFrom(...ACTIVITIES), { nil: undefined }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), device: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('signOff' as const), device: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setManual' as const), manual: fc.constantFrom(...MANUAL_STATUSES) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setPrivacy' as const), mode: fc.constantFrom(...PRIVACY_MODES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('contact' as const), other: index, on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('block' as const), other: index, on: fc.boolean() }) },
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  gap: gapArb,
  user: index,
  action: actionArb,
  sweepLate: fc.boolean(),
  unreadableRelations: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 511 }) }),
  unreadablePrivacy: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  hotDown: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const matrixArb = fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), { minLength: 3, maxLength: 3 });

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  timing: timingArb,
  start: fc.integer({ min: T0 - 30 * DAY, max: T0 + 30 * DAY }),
  devices: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  privacy: fc.array(fc.constantFrom(...PRIVACY_MODES), { minLength: 3, maxLength: 3 }),
  contacts: matrixArb,
  blocks: matrixArb,
  steps: fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }),
});

function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`no item ${i}`);
  return item;
}

/** Runs a scenario through the core and records what happened. Every state is frozen, so a mutation throws. */
export function simulate(scenario: Scenario): Trace {
  const { timing } = scenario;
  const users = userIds.slice(0, scenario.devices.length);
  const states = new Map<UserId, UserState>(users.map((id) => [id, deepFreeze(initialState(id))]));
  /** The model: expiry per device, straight from product.md. */
  const model = new Map<string, number>();
  const privacy = [...scenario.privacy];
  const contacts = scenario.contacts.map((row) => [...row]);
  const blocks = scenario.blocks.map((row) => [...row]);
  const applications: Application[] = [];
  const looks: Look[] = [];
  const selfViews: SelfView[] = [];
  const dues = new Map<UserId, number | null>();

  const liveOf = (userId: UserId, now: number): Set<string> =>
    new Set([...model].filter(([id, expiresAt]) => id.startsWith(`${userId}-`) && now < expiresAt).map(([id]) => id));

  const run = (userId: UserId, command: Command, bySweeper: boolean): void => {
    const before = states.get(userId) ?? initialState(userId);
    const liveBefore = liveOf(userId, command.now);
    const result = apply(before, command, timing);
    deepFreeze(result);
    switch (command.type) {
      case 'heartbeat':
        model.set(command.deviceId, command.now + timing.ttlMs);
        break;
      case 'disconnect':
        if (liveBefore.has(command.deviceId)) model.set(command.deviceId, command.now + timing.graceMs);
        break;
      case 'signOff':
        model.delete(command.deviceId);
        break;
      default:
        break;
    }
    const due = nextDue(result.state, command.now, timing);
    const tickBeforeDue = due !== null && due - 1 > command.now ? apply(result.state, { type: 'tick', now: due - 1 }, timing) : null;
    applications.push({ userId, command, bySweeper, before, result, liveBefore, liveAfter: liveOf(userId, command.now), due, tickBeforeDue });
    states.set(userId, result.state);
    dues.set(userId, due);
  };

  let now = scenario.start;
  for (const step of scenario.steps) {
    now += gapMs(step.gap, timing);

    // The sweeper: every user whose next due time has passed gets a tick, until nothing is due.
    for (const userId of users) {
      for (let rounds = 0; ; rounds++) {
        if (rounds > 20) throw new Error(`sweeper did not settle for ${userId}`);
        const due = dues.get(userId) ?? null;
        if (due === null || due > now) break;
        run(userId, { type: 'tick', now: step.sweepLate ? now : due }, true);
      }
    }

    const userIndex = step.user % users.length;
    const userId = at(users, userIndex);
    const action = step.action;
    const device = (i: number) => deviceId(userId, i % at(scenario.devices, userIndex));
    switch (action.kind) {
      case 'heartbeat':
        run(userId, { type: 'heartbeat', deviceId: device(action.device), platform: action.platform, activity: action.activity, now }, false);
        break;
      case 'disconnect':
        run(userId, { type: 'disconnect', deviceId: device(action.device), now }, false);
        break;
      case 'signOff':
        run(userId, { type: 'signOff', deviceId: device(action.device), now }, false);
        break;
      case 'setManual':
        run(userId, { type: 'setManual', manual: action.manual, now }, false);
        break;
      case 'tick':
        run(userId, { type: 'tick', now }, false);
        break;
      case 'setPrivacy':
        privacy[userIndex] = action.mode;
        break;
      case 'contact':
        at(contacts, userIndex)[action.other % users.length] = action.on;
        break;
      case 'block':
        at(blocks, userIndex)[action.other % users.length] = action.on;
        break;
    }

    // What everyone is shown now.
    users.forEach((targetId, t) => {
      const state = states.get(targetId) ?? initialState(targetId);
      const record = step.hotDown ? null : { userId: targetId, published: state.published, version: state.version };
      selfViews.push(selfView(state, now, timing));
      users.forEach((viewerId, v) => {
        const relation: Relation | undefined =
          step.unreadableRelations & (1 << (t * 3 + v))
            ? undefined
            : { privacy: at(privacy, t), listsViewer: at(at(contacts, t), v), blocksViewer: at(at(blocks, t), v) };
        const viewerPrivacy = step.unreadablePrivacy & (1 << v) ? undefined : at(privacy, v);
        const view = viewPresence(targetId, record, decideVisibility(viewerId, targetId, viewerPrivacy, relation));
        looks.push({
          now,
          viewerId,
          targetId,
          relation,
          viewerPrivacy,
          hotDown: step.hotDown,
          view,
          targetManual: state.manual,
          targetLiveDevices: liveOf(targetId, now).size,
        });
      });
    });
  }
  return { timing, applications, looks, selfViews };
}
