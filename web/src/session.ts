// The signed-in session: the access token lives in this module's memory only (never in
// localStorage). The refresh token never reaches the page: the API keeps it in an httpOnly,
// SameSite=Strict cookie, and `renew` asks the API to use it (silently before expiry, after a
// reload, after a socket is refused with 4403).

export interface SessionUser {
  id: string;
  username: string;
}

export interface Tokens {
  accessToken: string;
  expiresIn: number;
  user: SessionUser;
}

/** Renew this long before the access token expires (or at half its life, if that is sooner). */
export const REFRESH_MARGIN_S = 10;

/** Milliseconds from now until a token lasting `expiresIn` seconds should be renewed. */
export function refreshDelayMs(expiresIn: number): number {
  const lead = Math.min(REFRESH_MARGIN_S, expiresIn / 2);
  return Math.max(0, (expiresIn - lead) * 1000);
}

type Listener = (user: SessionUser | null) => void;

export class Session {
  private tokens: Tokens | null = null;
  private expiresAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<Listener>();
  private renewing: Promise<string | null> | null = null;

  constructor(
    private readonly renew: () => Promise<Tokens | null>,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get user(): SessionUser | null {
    return this.tokens?.user ?? null;
  }

  /** The current access token, or null when signed out. */
  get accessToken(): string | null {
    return this.tokens?.accessToken ?? null;
  }

  /** A token that is still valid: renews first when the current one has (nearly) expired. */
  async freshAccessToken(): Promise<string | null> {
    if (this.tokens && this.now() < this.expiresAt - 1000) return this.tokens.accessToken;
    return this.refresh();
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(tokens: Tokens): void {
    const changed = this.tokens?.user.id !== tokens.user.id;
    this.tokens = tokens;
    this.expiresAt = this.now() + tokens.expiresIn * 1000;
    this.schedule(tokens.expiresIn);
    if (changed) this.emit();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const had = this.tokens !== null;
    this.tokens = null;
    if (had) this.emit();
  }

  /** Renew the access token (one renewal at a time); null and signed out if that fails. */
  refresh(): Promise<string | null> {
    if (!this.renewing) {
      this.renewing = this.renew()
        .then((tokens) => {
          if (!tokens) {
            this.clear();
            return null;
          }
          this.start(tokens);
          return tokens.accessToken;
        })
        .catch(() => {
          this.clear();
          return null;
        })
        .finally(() => {
          this.renewing = null;
        });
    }
    return this.renewing;
  }

  private schedule(expiresIn: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), refreshDelayMs(expiresIn));
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.user);
  }
}
