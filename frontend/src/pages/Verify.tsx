// The sign-up mail's link lands here (/verify?token=…): the token is spent once, on load. With
// no token (the dashboard's "resend it" banner) or a spent one, a new link can be asked for.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Button } from "../components/ui";
import { SESSION_KEY, useSession } from "../lib/session";
import { AuthCard, AuthPending, EmailField, emailProblem, useCooldown } from "./SignUp";

export type OnceState<T> =
  | { status: "pending" }
  | { status: "success"; data: T }
  | { status: "error"; error: unknown };

/** Runs `action` once when the component mounts — once only, even when React's StrictMode
 *  runs effects twice (a mailed token can be spent a single time) — and `retry` runs it again. */
export function useRunOnce<T>(action: () => Promise<T>): [OnceState<T>, () => void] {
  const [state, setState] = useState<OnceState<T>>({ status: "pending" });
  const started = useRef(false);
  const run = useCallback(() => {
    setState({ status: "pending" });
    action().then(
      (data) => setState({ status: "success", data }),
      (error: unknown) => setState({ status: "error", error }),
    );
  }, [action]);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    run();
  }, [run]);
  return [state, run];
}

/** Asks the server again who is logged in. A session request still in flight (sent as the page
 *  loaded, maybe answered before the change) is dropped first, so the new answer is used. */
export function useRefreshSession(): () => Promise<void> {
  const client = useQueryClient();
  return useCallback(async () => {
    await client.cancelQueries({ queryKey: SESSION_KEY });
    await client.invalidateQueries({ queryKey: SESSION_KEY });
  }, [client]);
}

/** The one thing the server says of any unusable link (unknown, used, expired…). */
export function isInvalidToken(error: unknown): boolean {
  return error instanceof ApiError && error.code === "invalid_token";
}

export function Verify() {
  const [params] = useSearchParams();
  const token = params.get("token");
  return token ? <VerifyToken key={token} token={token} /> : <VerifyRequest />;
}

function VerifyToken({ token }: { token: string }) {
  const session = useSession();
  const refresh = useRefreshSession();
  const spend = useCallback(async () => {
    const me = await unwrap(api.POST("/auth/verify", { body: { token } }));
    void refresh(); // a logged-in tab drops its "confirm your address" banner
    return me;
  }, [token, refresh]);
  const [state, retry] = useRunOnce(spend);

  if (state.status === "pending") {
    return <AuthPending title="Confirming your email address" />;
  }

  if (state.status === "success") {
    const loggedIn = Boolean(session.data);
    return (
      <AuthCard title="You're all set">
        <div className="notice notice-success" role="status">
          <p className="notice-title">Your email address is confirmed</p>
          <p>
            <strong className="auth-email">{state.data.email}</strong> is confirmed. You can now
            create API keys and use the playground.
          </p>
        </div>
        {loggedIn ? (
          <Link className="button button-primary auth-submit" to="/overview">Go to your dashboard</Link>
        ) : (
          <Link className="button button-primary auth-submit" to="/login?next=%2Foverview">Log in</Link>
        )}
      </AuthCard>
    );
  }

  if (isInvalidToken(state.error)) {
    return (
      <AuthCard title="This link can no longer be used">
        <div className="notice notice-error" role="alert">
          <p className="notice-title">The link is invalid or has expired</p>
          <p>
            A confirmation link works once, for 24 hours, and only the newest one sent works. If
            you have already confirmed your address, just <Link to="/login">log in</Link>.
          </p>
        </div>
        <p>Otherwise, we can send you a new link:</p>
        <ResendVerificationForm defaultEmail={session.data?.email ?? ""} />
      </AuthCard>
    );
  }

  return (
    <AuthCard title="We could not confirm your address">
      <ErrorNotice error={state.error} onRetry={retry} />
      <hr className="auth-divider" />
      <p>Or ask for a new link:</p>
      <ResendVerificationForm defaultEmail={session.data?.email ?? ""} />
    </AuthCard>
  );
}

function VerifyRequest() {
  const session = useSession();
  const me = session.data;
  if (me?.email_verified) {
    return (
      <AuthCard title="Nothing to do">
        <div className="notice notice-success" role="status">
          <p className="notice-title">Your email address is confirmed</p>
          <p><strong className="auth-email">{me.email}</strong> was confirmed already.</p>
        </div>
        <Link className="button button-primary auth-submit" to="/overview">Go to your dashboard</Link>
      </AuthCard>
    );
  }
  return (
    <AuthCard
      title="Confirm your email address"
      intro="When you signed up we mailed you a link. Lost it, or has it expired? We'll send a new one."
      footer={<p><Link to="/login">Log in</Link> · <Link to="/signup">Create an account</Link></p>}
    >
      <ResendVerificationForm key={me?.email ?? ""} defaultEmail={me?.email ?? ""} />
    </AuthCard>
  );
}

/** Ask for a new confirmation link; the server mails one at most once a minute, and says the
 *  same whether or not the address has an account waiting. */
export function ResendVerificationForm({ defaultEmail = "" }: { defaultEmail?: string }) {
  const [email, setEmail] = useState(defaultEmail);
  const [error, setError] = useState<string | null>(null);
  const [cooldown, startCooldown] = useCooldown();
  const inputRef = useRef<HTMLInputElement>(null);
  const resend = useMutation({
    mutationFn: (address: string) => unwrap(api.POST("/auth/verify/resend", { body: { email: address } })),
    onSuccess: () => startCooldown(),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const problem = emailProblem(email);
    setError(problem);
    if (problem) {
      inputRef.current?.focus();
      return;
    }
    resend.mutate(email.trim());
  }

  return (
    <form onSubmit={submit} noValidate>
      {resend.isError ? <ErrorNotice error={resend.error} /> : null}
      {resend.isSuccess ? (
        <div className="notice notice-success" role="status">
          If <strong className="auth-email">{resend.variables}</strong> has an account waiting for
          confirmation, a new link is on its way. Only the newest link works.
        </div>
      ) : null}
      <EmailField value={email} onChange={setEmail} error={error} inputRef={inputRef} />
      <Button type="submit" className="auth-submit" busy={resend.isPending} disabled={cooldown > 0}>
        {cooldown > 0 ? `Send a new link (${cooldown} s)` : "Send a new link"}
      </Button>
    </form>
  );
}
