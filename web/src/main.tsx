// The dashboard: a single page on the GraphQL API, routed by the URL's hash so the server
// serves one page at `/`.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { logout, resume, session } from './api';
import type { SessionUser } from './session';
import { Alerts } from './views/Alerts';
import { MeterReadings } from './views/Charts';
import { HomePage } from './views/Home';
import { Homes } from './views/Homes';
import { Login } from './views/Login';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const update = () => setHash(window.location.hash);
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return hash;
}

function Page({ hash }: { hash: string }) {
  const home = /^#\/homes\/(\d+)/.exec(hash);
  if (home) return <HomePage key={home[1]} homeId={home[1]} />;
  const meter = /^#\/meters\/(\d+)/.exec(hash);
  if (meter) return <MeterReadings deviceId={meter[1]} />;
  if (hash.startsWith('#/alerts')) return <Alerts />;
  return <Homes />;
}

function App() {
  const [user, setUser] = useState<SessionUser | null>(session.user);
  const [resuming, setResuming] = useState(true);
  const hash = useHash();
  useEffect(() => {
    const stop = session.onChange(setUser);
    void resume().finally(() => setResuming(false));
    return stop;
  }, []);
  // focus the page's heading after navigation, for screen readers and keyboards
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [hash, user]);
  if (resuming && !user) return <p aria-busy="true">Loading…</p>;
  if (!user) return <Login />;
  const current = (prefix: string) => (hash === prefix || (prefix !== '#/' && hash.startsWith(prefix)) || (prefix === '#/' && (hash === '' || hash.startsWith('#/homes'))) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">gridtwin</strong>
        <nav aria-label="Main">
          <a href="#/" aria-current={current('#/')}>
            Homes
          </a>
          <a href="#/alerts" aria-current={current('#/alerts')}>
            Alerts
          </a>
        </nav>
        <span class="who" data-testid="user">
          {user.username}
        </span>
        <button type="button" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
