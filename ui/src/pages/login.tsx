import { useState } from 'preact/hooks';

/** The token is kept in sessionStorage: it lasts as long as this tab, and no longer. */
export function LoginPage({ error, onToken }: { error: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main id="main" class="login">
      <h1>jobs-service</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <p>This service checks API tokens. Log in with one of them; it is kept for this browser tab only.</p>
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            type="password"
            autoComplete="current-password"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'token-error' : undefined}
            required
          />
          {error && (
            <small id="token-error" class="field-error" role="alert">
              {error}
            </small>
          )}
        </div>
        <button type="submit" class="primary">
          Log in
        </button>
      </form>
    </main>
  );
}
