/** The token verifier: a token that passed is reused for a while, never past its expiry; a rejected one never. */
import { SignJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, signToken } from '../../server/auth.js';

const SECRET = 'verifier-test-secret-0123456789abcdef';
const config = { auth: { kind: 'secret' as const, secret: SECRET, dev: false }, jwtIssuer: undefined, jwtAudience: undefined };
const T0 = Date.parse('2026-11-23T12:00:00Z');

function clockAt(start: number) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return (error as AuthError).reason;
}

/** A verifier on a clock at T0 holding tokens `holdMs`, and alice's token signed at T0 for `ttlSeconds`. */
async function verifierAt(holdMs: number, ttlSeconds: number) {
  const clock = clockAt(T0);
  const verify = createVerifier(config, { clock: clock.read, holdMs });
  const token = await signToken(SECRET, 'alice', { now: T0, ttlSeconds });
  return { clock, verify, token };
}

describe('createVerifier', () => {
  it('should check a token once and answer it again from what passed', async () => {
    const { clock, verify, token } = await verifierAt(60_000, 3600);
    const first = await verify(`Bearer ${token}`);
    clock.now += 30_000;
    const again = await verify(`Bearer ${token}`);
    expect(first).toEqual({ userId: 'alice', expiresAt: T0 + 3_600_000 });
    expect(again).toEqual(first);
    expect(verify.stats).toEqual({ checked: 1, reused: 1 });
  });

  it('should check the signature again once the hold is over', async () => {
    const { clock, verify, token } = await verifierAt(60_000, 3600);
    await verify(token);
    clock.now += 60_001;
    expect(await verify(token)).toMatchObject({ userId: 'alice' });
    expect(verify.stats).toEqual({ checked: 2, reused: 0 });
  });

  it('should never answer a token from memory past its expiry', async () => {
    const { clock, verify, token } = await verifierAt(60_000, 10);
    await verify(token);
    clock.now += 9_000;
    await verify(token);
    clock.now += 1_000;
    expect(await reason(verify(token))).toBe('expired');
    expect(verify.stats).toEqual({ checked: 2, reused: 1 });
  });

  it('should check a rejected token every time it is sent', async () => {
    const verify = createVerifier(config, { clock: () => T0 });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime(Math.floor(T0 / 1000) + 3600)
      .sign(new TextEncoder().encode('another-secret-0123456789abcdefghij'));
    expect(await reason(verify(forged))).toBe('invalid');
    expect(await reason(verify(forged))).toBe('invalid');
    const noSubject = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(T0 / 1000) + 3600).sign(new TextEncoder().encode(SECRET));
    expect(await reason(verify(noSubject))).toBe('invalid');
    expect(await reason(verify(noSubject))).toBe('invalid');
    expect(verify.stats).toEqual({ checked: 4, reused: 0 });
  });

  it('should import the secret once, not once per token checked, and still refuse any other algorithm', async () => {
    const imports = vi.spyOn(crypto.subtle, 'importKey');
    try {
      const verify = createVerifier(config, { clock: () => T0 });
      // Twenty users connecting, each with a token of their own: twenty signature checks.
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => signToken(SECRET, `user-${i}`, { now: T0 })));
      const before = imports.mock.calls.length;
      const identities = await Promise.all(tokens.map((token) => verify(token)));
      expect(identities.map((identity) => identity.userId)).toEqual(tokens.map((_, i) => `user-${i}`));
      expect(verify.stats.checked).toBe(20);
      expect(imports.mock.calls.length - before).toBe(0);
      // The same secret under HS384 is not a token of this server.
      const hs384 = await new SignJWT({}).setProtectedHeader({ alg: 'HS384' }).setSubject('alice').setExpirationTime(Math.floor(T0 / 1000) + 3600).sign(new TextEncoder().encode(SECRET));
      expect(await reason(verify(hs384))).toBe('invalid');
    } finally {
      imports.mockRestore();
    }
  });

  it('should hold at most maxHeld tokens, and none with 0', async () => {
    const clock = clockAt(T0);
    const tokens = await Promise.all(['a', 'b', 'c'].map((u) => signToken(SECRET, u, { now: T0 })));
    const bounded = createVerifier(config, { clock: clock.read, maxHeld: 2 });
    for (const token of tokens) await bounded(token);
    // The least recently used one (a) was dropped; b and c are still held.
    expect((await bounded(tokens[0]!)).userId).toBe('a');
    expect((await bounded(tokens[2]!)).userId).toBe('c');
    expect(bounded.stats).toEqual({ checked: 4, reused: 1 });
    const none = createVerifier(config, { clock: clock.read, maxHeld: 0 });
    await none(tokens[0]!);
    await none(tokens[0]!);
    expect(none.stats).toEqual({ checked: 2, reused: 0 });
  });
});
