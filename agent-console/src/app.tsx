import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, handleUnauthorized, setCsrf } from './api';
import { Console } from './console';
import { Icon } from './ui';
import type { Agent } from './types';

interface MeResponse {
  agent: Agent;
  csrf_token: string;
}

export function App() {
  // undefined: still asking GET /me; null: logged out.
  const [me, setMe] = useState<Agent | null | undefined>(undefined);

  useEffect(() => {
    handleUnauthorized(() => {
      setCsrf('');
      setMe(null);
    });
    api<MeResponse>('GET', '/me').then(
      (r) => {
        setCsrf(r.csrf_token);
        setMe(r.agent);
      },
      () => setMe(null),
    );
  }, []);

  // A one-time link from `switchboard admin create-agent` (or an invitation):
  // /set-password#token=... The token stays in the fragment, never sent in a URL.
  if (location.pathname === '/set-password') return <SetPassword />;
  if (me === undefined) return <p class="boot">Loading&hellip;</p>;
  if (!me) return <Login onLogin={setMe} />;
  return (
    <Console
      key={me.id}
      me={me}
      onLogout={() => {
        setCsrf('');
        setMe(null);
      }}
    />
  );
}

function loginError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401 || e.code === 'unauthorized') return 'Wrong email or password.';
    if (e.status === 423 || e.code === 'locked') return 'Too many failed attempts. This account is locked for 15 minutes.';
    if (e.status === 429) return 'Too many attempts. Wait a moment and try again.';
    return e.message;
  }
  return 'Sign-in failed.';
}

function Login({ onLogin }: { onLogin: (a: Agent) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError('');
    try {
      const r = await api<MeResponse>('POST', '/auth/login', { email: email.trim(), password });
      setCsrf(r.csrf_token);
      onLogin(r.agent);
    } catch (err) {
      setError(loginError(err));
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate={false}>
        <span class="login-logo" aria-hidden="true">
          <Icon name="message" size={20} />
        </span>
        <h1 id="login-title">Sign in to Switchboard</h1>
        <p class="login-sub">Answer your visitors, live.</p>
        <label for="login-email">Email</label>
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button id="login-submit" class="btn primary" type="submit" disabled={busy}>
          {busy ? 'Signing in\u2026' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function SetPassword() {
  // Read once: a successful submit takes the token out of the address bar.
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get('token') || '');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (password.length < 8) return setError('Use at least 8 characters.');
    if (password !== again) return setError('The two passwords differ.');
    setBusy(true);
    setError('');
    try {
      await api('POST', '/auth/set-password', { token, password });
      history.replaceState(null, '', '/');
      setDone(true);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'unauthorized'
          ? 'This link has expired or was already used. Ask an admin for a new one.'
          : err instanceof ApiError
            ? err.message
            : 'Could not set the password.',
      );
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <main class="login">
        <div class="login-card">
          <h1>Link incomplete</h1>
          <p>Open the whole link you were given; it ends with a token.</p>
        </div>
      </main>
    );
  }
  if (done) {
    return (
      <main class="login">
        <div class="login-card">
          <h1>Password set</h1>
          <p>You can sign in now.</p>
          <a class="btn primary" href="/">
            Sign in
          </a>
        </div>
      </main>
    );
  }
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="setpw-title">
        <h1 id="setpw-title">Choose your password</h1>
        <label for="setpw-password">New password</label>
        <input
          id="setpw-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <label for="setpw-again">Repeat it</label>
        <input
          id="setpw-again"
          type="password"
          autoComplete="new-password"
          required
          value={again}
          onInput={(e) => setAgain(e.currentTarget.value)}
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button id="setpw-submit" class="btn primary" type="submit" disabled={busy}>
          {busy ? 'Saving\u2026' : 'Set password'}
        </button>
      </form>
    </main>
  );
}
