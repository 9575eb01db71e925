import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REFRESH_MARGIN_S, refreshDelayMs, Session, type Tokens } from './session';

const user = { id: '1', username: 'alice' };
const tokens = (n: number, expiresIn = 60): Tokens => ({ accessToken: `access-${n}`, expiresIn, user });

describe('refreshDelayMs', () => {
  it('renews the margin before expiry, or at half the life of a short token', () => {
    expect(refreshDelayMs(900)).toBe((900 - REFRESH_MARGIN_S) * 1000);
    expect(refreshDelayMs(20)).toBe(10_000);
    expect(refreshDelayMs(4)).toBe(2000);
    expect(refreshDelayMs(0)).toBe(0);
  });
});

describe('Session', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('renews silently before the access token expires, again for each new token', async () => {
    let issued = 1;
    const renew = vi.fn(async () => tokens(++issued, 20));
    const session = new Session(renew, () => Date.now());
    session.start(tokens(1, 20));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(session.accessToken).toBe('access-2');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renew).toHaveBeenCalledTimes(2);
    expect(session.accessToken).toBe('access-3');
  });

  it('asks for a new token when the current one has expired, once for concurrent callers', async () => {
    let now = 0;
    const renew = vi.fn(async () => tokens(2));
    const session = new Session(renew, () => now);
    session.start(tokens(1, 60));
    expect(await session.freshAccessToken()).toBe('access-1');
    now = 60_000;
    const [a, b] = await Promise.all([session.freshAccessToken(), session.freshAccessToken()]);
    expect([a, b]).toEqual(['access-2', 'access-2']);
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it('signs out when renewal is refused, and tells listeners', async () => {
    const session = new Session(async () => null);
    const seen: (string | null)[] = [];
    session.onChange((u) => seen.push(u?.username ?? null));
    session.start(tokens(1));
    expect(await session.refresh()).toBeNull();
    expect(session.user).toBeNull();
    expect(seen).toEqual(['alice', null]);
  });
});

describe('reconnectDelay', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reconnects at once the first time, then backs off up to 10 s', async () => {
    const { reconnectDelay } = await import('./api');
    const waited = async (retries: number) => {
      let done = false;
      void reconnectDelay(retries).then(() => (done = true));
      let ms = 0;
      while (!done && ms <= 11_000) {
        await vi.advanceTimersByTimeAsync(100);
        ms += 100;
      }
      return ms;
    };
    expect(await waited(0)).toBe(100);
    expect(await waited(1)).toBeGreaterThanOrEqual(1000);
    expect(await waited(1)).toBeLessThanOrEqual(1600);
    expect(await waited(20)).toBeGreaterThanOrEqual(10_000);
    expect(await waited(20)).toBeLessThanOrEqual(10_600);
  });
});
