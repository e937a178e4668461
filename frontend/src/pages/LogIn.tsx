// Log in with an address and a password; then on to where the visitor was going (?next=, a
// path on this site only) or the overview.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Button } from "../components/ui";
import { useSession, useSessionActions } from "../lib/session";
import { AuthCard, EmailField, PasswordField, emailProblem, sentence, useCooldown } from "./SignUp";

const DEFAULT_TARGET = "/overview";

/** `next` if it is a path on this site ("/keys?x=1"), else null: never another origin
 *  ("//evil.example", "https://…", "/\\evil.example") and never a control character. */
export function safeNext(next: string | null | undefined): string | null {
  if (!next) return null;
  if (!next.startsWith("/") || next.startsWith("//")) return null;
  if (next.includes("\\")) return null;
  if (/[\u0000-\u001f\u007f]/.test(next)) return null;
  return next;
}

/** A wait as words: 45 → "45 seconds", 600 → "10 minutes". */
export function formatWait(seconds: number): string {
  if (seconds <= 1) return "a second";
  if (seconds < 60) return `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "a minute" : `${minutes} minutes`;
}

type Credentials = { email: string; password: string };

export function LogIn() {
  const session = useSession();
  const { logIn } = useSessionActions();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const target = safeNext(params.get("next")) ?? DEFAULT_TARGET;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [emailError, setEmailError] = useState<string | null>(null);
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [wait, startWait] = useCooldown();
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  const login = useMutation({
    mutationFn: ({ email, password }: Credentials) => logIn(email, password),
    onSuccess: () => navigate(target, { replace: true }),
    onError: (error) => {
      if (error instanceof ApiError && error.code === "invalid_credentials") {
        setPassword("");
        passwordRef.current?.focus();
      }
      if (error instanceof ApiError && error.status === 429) startWait(error.retryAfter ?? 60);
    },
  });

  // Already logged in (a bookmark, the back button): straight on.
  if (session.data && !login.isPending && !login.isSuccess) return <Navigate to={target} replace />;

  function submit(event: FormEvent) {
    event.preventDefault();
    const badEmail = emailProblem(email);
    const badPassword = password === "" ? "Enter your password." : null;
    setEmailError(badEmail);
    setPasswordError(badPassword);
    if (badEmail) {
      emailRef.current?.focus();
      return;
    }
    if (badPassword) {
      passwordRef.current?.focus();
      return;
    }
    login.mutate({ email: email.trim(), password });
  }

  return (
    <AuthCard
      title="Log in to Vocalis"
      intro="Welcome back. Log in to manage your keys, usage and plan."
      footer={<p>New to Vocalis? <Link to="/signup">Create an account</Link></p>}
    >
      {login.isError ? <LogInError error={login.error} wait={wait} /> : null}
      <form onSubmit={submit} noValidate>
        <EmailField autoComplete="username" value={email} onChange={setEmail} error={emailError} inputRef={emailRef} />
        <PasswordField
          label="Password" name="password" autoComplete="current-password"
          value={password} onChange={setPassword} error={passwordError} inputRef={passwordRef}
        />
        <p className="small login-forgot">
          <Link to="/forgot-password">Forgot your password?</Link>
        </p>
        <Button type="submit" className="auth-submit" busy={login.isPending} disabled={wait > 0}>
          Log in
        </Button>
      </form>
    </AuthCard>
  );
}

/** Why the login failed, in words that say what to do next. */
export function LogInError({ error, wait }: { error: unknown; wait: number }) {
  if (error instanceof ApiError && error.code === "invalid_credentials") {
    return (
      <div className="notice notice-error" role="alert">
        <p className="notice-title">Wrong email or password</p>
        <p>
          Check both and try again. If you forgot your password,{" "}
          <Link to="/forgot-password">reset it</Link>.
        </p>
      </div>
    );
  }
  if (error instanceof ApiError && error.status === 429) {
    return (
      <div className="notice notice-warning" role="alert">
        <p className="notice-title">Too many login attempts</p>
        <p>
          {wait > 0
            ? `For your security, logging in is paused for a while. Try again in ${formatWait(wait)}.`
            : "You can try again now."}
        </p>
        <p className="small">
          Forgot your password? <Link to="/forgot-password">Reset it</Link> instead.
        </p>
      </div>
    );
  }
  if (error instanceof ApiError && error.code === "account_suspended") {
    return (
      <div className="notice notice-error" role="alert">
        <p className="notice-title">This account is suspended</p>
        <p>{sentence(error.message)} Contact the operator of this server to find out why.</p>
      </div>
    );
  }
  return <ErrorNotice error={error} />;
}
