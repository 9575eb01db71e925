import { useState } from 'preact/hooks';
import { login, run } from '../api';
import { RegisterDocument } from '../generated/graphql';
import { fieldErrors, type FieldErrors } from '../problems';
import { Field } from './Field';

export function Login() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [problems, setProblems] = useState<FieldErrors>({ fields: {}, general: [] });
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const element = event.currentTarget as HTMLFormElement;
    const form = new FormData(element);
    const username = String(form.get('username') ?? '');
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      if (mode === 'login') {
        setError(await login(username, password));
      } else {
        const answer = await run(RegisterDocument, { username, password, email: String(form.get('email') ?? '') }, 'mutation');
        if (answer.register.__typename === 'OperationInfo') {
          setProblems(fieldErrors(answer.register.messages, ['username', 'password', 'email']));
        } else {
          setProblems({ fields: {}, general: [] });
          setNotice(`Account ${answer.register.username} created: sign in.`);
          setMode('login');
          // the username stays filled in; the password is typed again
          (element.elements.namedItem('password') as HTMLInputElement).value = '';
          (element.elements.namedItem('password') as HTMLInputElement).focus();
        }
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="auth">
      <h1>gridtwin</h1>
      <form onSubmit={submit} aria-labelledby="auth-title" novalidate>
        <h2 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create an account'}</h2>
        {notice && <p role="status">{notice}</p>}
        <Field label="Username" name="username" autocomplete="username" required error={problems.fields.username} />
        <Field label="Password" name="password" type="password" autocomplete={mode === 'login' ? 'current-password' : 'new-password'} required error={problems.fields.password} />
        {mode === 'register' && <Field label="Email (optional)" name="email" type="email" autocomplete="email" error={problems.fields.email} />}
        {(error || problems.general.length > 0) && (
          <p role="alert" class="error">
            {error ?? problems.general.join(' ')}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        <button type="button" class="link" onClick={() => (setMode(mode === 'login' ? 'register' : 'login'), setError(null))}>
          {mode === 'login' ? 'Create an account' : 'I have an account'}
        </button>
      </form>
    </main>
  );
}
