/**
 * Invariants of the presence core over random worlds (see simulation.ts): random commands for 1–3
 * users with 1–3 devices each, time moving forward, random valid timings and random privacy relations.
 * Each property also counts the cases it actually checked, and fails if a run of random worlds never
 * reached them, so none of them passes by having nothing to look at.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, unknownView, type Published, type Relation } from '../../presence/index.js';
import { scenarioArb, simulate, type Application } from './simulation.js';

/**
 * 300 worlds per property (PRESENCE_PROPERTY_RUNS to search harder). fc.assert runs synchronously, so
 * vitest's timeout cannot stop a runaway shrink: fast-check stops itself and still reports the smallest
 * failure found by then.
 */
const RUNS = { numRuns: Number(process.env.PRESENCE_PROPERTY_RUNS ?? 300), interruptAfterTimeLimit: 20_000 };

function samePublishedRecord(a: Published, b: Published): boolean {
  return a.status === b.status && a.lastSeen === b.lastSeen && JSON.stringify(a.platforms) === JSON.stringify(b.platforms);
}

/** The target hid itself from this viewer: NOBODY, CONTACTS without the edge, a block, or no proof at all. */
function hiddenBy(relation: Relation | undefined): boolean {
  return (
    relation === undefined ||
    relation.blocksViewer ||
    relation.privacy === 'NOBODY' ||
    (relation.privacy === 'CONTACTS' && !relation.listsViewer)
  );
}

function byUser(applications: readonly Application[]): Application[][] {
  const groups = new Map<string, Application[]>();
  for (const a of applications) groups.set(a.userId, [...(groups.get(a.userId) ?? []), a]);
  return [...groups.values()];
}

function expectBucket(value: number | null, now: number): void {
  if (value === null) return;
  expect(Number.isInteger(value / BUCKET_MS), `${value} is not a multiple of ${BUCKET_MS}`).toBe(true);
  expect(value).toBeLessThanOrEqual(now);
}

describe('presence core properties', () => {
  it('should never show ONLINE, IDLE or DND to any viewer for a user with no live device', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const trace = simulate(scenario);
        for (const look of trace.looks) {
          if (look.targetLiveDevices > 0) continue;
          checked++;
          expect(['OFFLINE', 'UNKNOWN']).toContain(look.view.status);
        }
        for (const a of trace.applications) {
          if (a.liveAfter.size === 0) expect(a.result.state.published.status).toBe('OFFLINE');
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(0);
  });

  it('should never publish OFFLINE for a user who has a live device and is not INVISIBLE', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const a of simulate(scenario).applications) {
          if (a.liveAfter.size === 0 || a.result.state.manual === 'INVISIBLE') continue;
          checked++;
          expect(a.result.state.published.status).not.toBe('OFFLINE');
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(0);
  });

  it('should keep exactly the devices that are live: a heartbeat holds one for the TTL, a closed socket for the grace window', () => {
    let withDevices = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const a of simulate(scenario).applications) {
          expect(Object.keys(a.result.state.devices).sort()).toEqual([...a.liveAfter].sort());
          if (a.liveAfter.size > 1) withDevices++;
        }
      }),
      RUNS,
    );
    expect(withDevices).toBeGreaterThan(0);
  });

  it('should expose every last-seen as a 60-second bucket start, never in the future', () => {
    let exposed = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const trace = simulate(scenario);
        for (const { command, result } of trace.applications) {
          const values = [result.state.published.lastSeen, result.state.lastSeen, result.transition?.bucket ?? null, result.transition?.published.lastSeen ?? null];
          for (const value of values) expectBucket(value, command.now);
          exposed += values.filter((v) => v !== null).length;
        }
        for (const look of trace.looks) {
          expectBucket(look.view.lastSeen, look.now);
          if (look.view.lastSeen !== null) exposed++;
        }
        for (const self of trace.selfViews) {
          expect(self.lastSeen === null || Number.isInteger(self.lastSeen / BUCKET_MS)).toBe(true);
          expect(self.published.lastSeen === null || Number.isInteger(self.published.lastSeen / BUCKET_MS)).toBe(true);
        }
      }),
      RUNS,
    );
    expect(exposed).toBeGreaterThan(0);
  });

  it('should show exactly unknownView to a viewer the target hid itself from', () => {
    let hidden = 0;
    let shown = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const look of simulate(scenario).looks) {
          if (look.viewerId === look.targetId) continue;
          if (hiddenBy(look.relation)) {
            hidden++;
            expect(look.view).toEqual(unknownView(look.targetId));
          } else if (!look.hotDown) {
            shown++;
            expect(look.view.status).not.toBe('UNKNOWN');
          }
        }
      }),
      RUNS,
    );
    expect(hidden).toBeGreaterThan(0);
    expect(shown).toBeGreaterThan(0);
  });

  it('should show UNKNOWN with version 0 to everyone, the user included, while the hot store cannot be read', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const look of simulate(scenario).looks) {
          if (!look.hotDown) continue;
          checked++;
          expect(look.view).toEqual(unknownView(look.targetId));
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(0);
  });

  it('should show a last-seen only to viewers who show their own (reciprocity)', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const look of simulate(scenario).looks) {
          if (look.viewerId === look.targetId || (look.viewerPrivacy !== undefined && look.viewerPrivacy !== 'NOBODY')) continue;
          checked++;
          expect(look.view.lastSeen).toBeNull();
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(0);
  });

  it('should never decrease a version, and emit a transition exactly when the published record changed', () => {
    let transitions = 0;
    let silent = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const { userId, command, before, result } of simulate(scenario).applications) {
          const { state, transition } = result;
          const changed = !samePublishedRecord(before.published, state.published);
          expect(state.version).toBe(before.version + (changed ? 1 : 0));
          expect(transition !== null).toBe(changed);
          if (transition === null) {
            silent++;
            continue;
          }
          transitions++;
          expect(transition).toEqual({
            id: `${userId}:${state.version}`,
            userId,
            from: before.published.status,
            to: state.published.status,
            version: state.version,
            bucket: Math.floor(command.now / BUCKET_MS) * BUCKET_MS,
            cause: transition.cause,
            published: state.published,
          });
        }
      }),
      RUNS,
    );
    expect(transitions).toBeGreaterThan(0);
    expect(silent).toBeGreaterThan(0);
  });

  it('should never emit an OFFLINE transition for a device that reconnects within the grace window', () => {
    let reconnects = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const trace = simulate(scenario);
        const grace = trace.timing.graceMs;
        for (const applications of byUser(trace.applications)) {
          /** Devices whose socket closed while live: when it closed, and where the window began. */
          const closed = new Map<string, { closedAt: number; since: number }>();
          applications.forEach((a, i) => {
            const { command } = a;
            for (const deviceId of closed.keys()) if (!a.liveBefore.has(deviceId)) closed.delete(deviceId);
            if (command.type === 'disconnect' && a.liveBefore.has(command.deviceId) && grace > 0) {
              closed.set(command.deviceId, { closedAt: command.now, since: closed.get(command.deviceId)?.since ?? i });
            } else if (command.type === 'signOff') {
              closed.delete(command.deviceId);
            } else if (command.type === 'heartbeat') {
              const window = closed.get(command.deviceId);
              closed.delete(command.deviceId);
              if (!window || command.now >= window.closedAt + grace) return;
              reconnects++;
              const offline = applications
                .slice(window.since, i + 1)
                .flatMap(({ result }) => (result.transition?.to === 'OFFLINE' && result.transition.cause !== 'MANUAL_STATUS' ? [result.transition] : []));
              expect(offline).toEqual([]);
            }
          });
        }
      }),
      RUNS,
    );
    expect(reconnects).toBeGreaterThan(0);
  });

  it('should never change the published record or the version while the user stays INVISIBLE', () => {
    let whileInvisible = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const trace = simulate(scenario);
        for (const { before, result } of trace.applications) {
          if (before.manual !== 'INVISIBLE' || result.state.manual !== 'INVISIBLE') continue;
          whileInvisible++;
          expect(result.state.published).toEqual(before.published);
          expect(result.state.version).toBe(before.version);
          expect(result.transition).toBeNull();
        }
        for (const look of trace.looks) {
          if (look.targetManual === 'INVISIBLE' && look.viewerId !== look.targetId) expect(['OFFLINE', 'UNKNOWN']).toContain(look.view.status);
        }
      }),
      RUNS,
    );
    expect(whileInvisible).toBeGreaterThan(0);
  });

  it('should say what the store must do: nothing, a refresh of a heartbeat that changed nothing published, or a write', () => {
    const effects = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const { command, before, result } of simulate(scenario).applications) {
          effects.add(result.effect);
          if (result.effect === 'none') {
            expect(result.state).toBe(before);
            expect(result.transition).toBeNull();
            continue;
          }
          expect(result.state.rev).toBe(before.rev + 1);
          if (result.effect === 'refresh') {
            expect(command.type).toBe('heartbeat');
            expect(result.transition).toBeNull();
            expect({ published: result.state.published, manual: result.state.manual, lastSeen: result.state.lastSeen }).toEqual({
              published: before.published,
              manual: before.manual,
              lastSeen: before.lastSeen,
            });
            expect(Object.keys(result.state.devices).sort()).toEqual(Object.keys(before.devices).sort());
          }
        }
      }),
      RUNS,
    );
    expect([...effects].sort()).toEqual(['none', 'refresh', 'write']);
  });

  it('should schedule the next tick in the future, with nothing to change before it', () => {
    let scheduled = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const { command, result, due, tickBeforeDue } of simulate(scenario).applications) {
          expect(due === null).toBe(Object.keys(result.state.devices).length === 0);
          if (due === null) continue;
          scheduled++;
          expect(due).toBeGreaterThan(command.now);
          if (tickBeforeDue) expect(tickBeforeDue.effect).toBe('none');
        }
      }),
      RUNS,
    );
    expect(scheduled).toBeGreaterThan(0);
  });
});
