// Sign-up: an address and a password make an unverified Free account; the server mails a link
// that /verify spends. Also home to what the other account pages (log in, verify, reset) share:
// the card they sit in, their email and password fields, the password rules as the server checks
// them, and a resend cool-down.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, type Ref, useCallback, useEffect, useId, useRef, useState } from "react";
import { Link, Navigate } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Button, Field } from "../components/ui";
import { useMailDelivery, useSession } from "../lib/session";
import "./SignUp.css";

/** The server's rules (accounts/passwords.py): characters as a person counts them, bytes as
 *  bcrypt does. */
export const PASSWORD_MIN_CHARACTERS = 10;
export const PASSWORD_MAX_BYTES = 72;
/** The server sends a verification or reset mail at most once a minute per account. */
export const RESEND_COOLDOWN_SECONDS = 60;

const encoder = new TextEncoder();

/** Why a new password would be refused, or null: the same length rules the server applies. */
export function passwordProblem(password: string): string | null {
  if (password === "") return "Enter a password.";
  const characters = [...password].length;
  if (characters < PASSWORD_MIN_CHARACTERS) {
    return `Use at least ${PASSWORD_MIN_CHARACTERS} characters (this one has ${characters}).`;
  }
  const bytes = encoder.encode(password).length;
  if (bytes > PASSWORD_MAX_BYTES) {
    return `Use at most ${PASSWORD_MAX_BYTES} bytes: that is ${PASSWORD_MAX_BYTES} plain letters, digits or symbols, fewer with accented letters or emoji, which take 2 to 4 bytes each (this one has ${bytes} bytes).`;
  }
  return null;
}

/** Why an address cannot be right, or null. The server checks it properly; this catches typos. */
export function emailProblem(email: string): string | null {
  const value = email.trim();
  if (value === "") return "Enter your email address.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return "Enter an email address like name@example.com.";
  return null;
}

/** A server message as a sentence: "wrong password" → "Wrong password." */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return trimmed;
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Seconds left before something may be asked again; `start()` begins a new wait. */
export function useCooldown(): [number, (seconds?: number) => void] {
  const [until, setUntil] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until <= now) return;
    const timer = window.setTimeout(() => setNow(Date.now()), Math.min(1000, until - now));
    return () => window.clearTimeout(timer);
  }, [until, now]);
  const start = useCallback((seconds = RESEND_COOLDOWN_SECONDS) => {
    const current = Date.now();
    setNow(current);
    setUntil(current + seconds * 1000);
  }, []);
  return [Math.max(0, Math.ceil((until - now) / 1000)), start];
}

/** The frame of every account page: a narrow card with a heading, and links under it. */
export function AuthCard({
  title, intro, children, footer,
}: { title: string; intro?: ReactNode; children: ReactNode; footer?: ReactNode }) {
  const headingId = useId();
  return (
    <div className="auth">
      <section className="card auth-card" aria-labelledby={headingId}>
        <h1 id={headingId}>{title}</h1>
        {intro ? <p className="muted auth-intro">{intro}</p> : null}
        {children}
      </section>
      {footer ? <div className="auth-footer muted">{footer}</div> : null}
    </div>
  );
}

/** An account page waiting for the server: "One moment…" under the page's heading. */
export function AuthPending({ title }: { title: string }) {
  return (
    <AuthCard title={title}>
      <p className="auth-status" role="status">
        <span className="spinner" aria-hidden="true" /> One moment…
      </p>
    </AuthCard>
  );
}

/** What an email or password field of the account pages holds, and says is wrong with it. */
type BoxProps = { value: string; onChange: (value: string) => void; error: string | null; inputRef: Ref<HTMLInputElement> };

/** The address box of the account pages ("username" where it logs in, for password managers). */
export function EmailField({ autoComplete = "email", ...box }: BoxProps & { autoComplete?: "email" | "username" }) {
  return <AuthField {...box} label="Email" type="email" name="email" autoComplete={autoComplete} />;
}

/** A password box of the account pages: the current one, or a new one with its rules as a hint. */
export function PasswordField(props: BoxProps & {
  label: string; name: string; autoComplete: "current-password" | "new-password"; hint?: ReactNode; minLength?: number;
}) {
  return <AuthField {...props} type="password" />;
}

function AuthField({
  label, hint, error, inputRef, value, onChange, type, name, autoComplete, minLength,
}: BoxProps & { label: string; hint?: ReactNode; type: "email" | "password"; name: string; autoComplete: string; minLength?: number }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy) => (
        <input
          ref={inputRef}
          id={id}
          type={type}
          name={name}
          autoComplete={autoComplete}
          inputMode={type === "email" ? "email" : undefined}
          required
          minLength={minLength}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          aria-describedby={describedBy}
          aria-invalid={error ? true : undefined}
        />
      )}
    </Field>
  );
}

/** The password field's hint: the rules, before anyone breaks them. */
export const PASSWORD_HINT = `At least ${PASSWORD_MIN_CHARACTERS} characters. A few unrelated words make a strong one; very common passwords are refused.`;

type Credentials = { email: string; password: string };

export function SignUp() {
  const session = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [cooldown, startCooldown] = useCooldown();
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  const signUp = useMutation({
    mutationFn: (body: Credentials) => unwrap(api.POST("/auth/signup", { body })),
    onSuccess: (_answer, body) => {
      setSentTo(body.email);
      setPassword("");
      startCooldown();
    },
  });

  if (session.data && sentTo === null) return <Navigate to="/overview" replace />;

  if (sentTo !== null) {
    return (
      <CheckInbox
        email={sentTo}
        cooldown={cooldown}
        onSent={() => startCooldown()}
        onStartOver={() => {
          setSentTo(null);
          setSubmitted(false);
          signUp.reset();
        }}
      />
    );
  }

  const emailError = submitted ? emailProblem(email) : null;
  const passwordError = submitted ? passwordProblem(password) : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    if (emailProblem(email)) {
      emailRef.current?.focus();
      return;
    }
    if (passwordProblem(password)) {
      passwordRef.current?.focus();
      return;
    }
    signUp.mutate({ email: email.trim(), password });
  }

  return (
    <AuthCard
      title="Create your account"
      intro="Start on the Free plan: no card needed. You can upgrade any time."
      footer={<p>Already have an account? <Link to="/login">Log in</Link></p>}
    >
      {signUp.isError ? <SignUpError error={signUp.error} /> : null}
      <form onSubmit={submit} noValidate>
        <EmailField value={email} onChange={setEmail} error={emailError} inputRef={emailRef} />
        <PasswordField
          label="Password" name="password" autoComplete="new-password" hint={PASSWORD_HINT} minLength={PASSWORD_MIN_CHARACTERS}
          value={password} onChange={setPassword} error={passwordError} inputRef={passwordRef}
        />
        <Button type="submit" className="auth-submit" busy={signUp.isPending}>Create account</Button>
      </form>
      <p className="small muted auth-fineprint">
        We only use your address for your account: sign-in links, receipts and notices about your plan.
      </p>
    </AuthCard>
  );
}

function SignUpError({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.code === "signup_closed") {
    return (
      <div className="notice notice-warning" role="alert">
        <p className="notice-title">Sign-up is closed on this server</p>
        <p>{sentence(error.message)}</p>
      </div>
    );
  }
  if (error instanceof ApiError && error.code.startsWith("password_")) {
    return (
      <div className="notice notice-error" role="alert">
        <p className="notice-title">Choose another password</p>
        <p>{sentence(error.message)}</p>
      </div>
    );
  }
  return <ErrorNotice error={error} />;
}

/** After sign-up: where the link went, and a way to have it sent again. */
function CheckInbox({
  email, cooldown, onSent, onStartOver,
}: { email: string; cooldown: number; onSent: () => void; onStartOver: () => void }) {
  const resend = useMutation({
    mutationFn: () => unwrap(api.POST("/auth/verify/resend", { body: { email } })),
    onSuccess: onSent,
  });
  const toLog = useMailDelivery() === "log";
  return (
    <AuthCard
      title="Check your inbox"
      footer={
        <p>
          Wrong address?{" "}
          <button type="button" className="link-button" onClick={onStartOver}>Start over</button>
          {" · "}
          <Link to="/login">Log in</Link>
        </p>
      }
    >
      <div className="notice notice-success" role="status">
        Check your inbox: we sent a link to <strong className="auth-email">{email}</strong>
      </div>
      <p>
        Open the link in that mail to confirm your address and finish setting up your account. It
        works for 24 hours.
      </p>
      {toLog ? (
        <div className="notice notice-info" role="note" data-testid="mail-in-log">
          This server has no mail service configured, so the mail was written to its log instead:
          look in the terminal running Vocalis (or <code>data/storage/mail/outbox.log</code>) for
          the line with <code>/verify?token=</code>, and open that link.
        </div>
      ) : (
        <p className="muted small">
          Nothing after a few minutes? Look in your spam folder, or have the link sent again.
        </p>
      )}
      {resend.isError ? <ErrorNotice error={resend.error} /> : null}
      {resend.isSuccess ? (
        <p className="auth-sent" role="status">A new link is on its way. Only the newest link works.</p>
      ) : null}
      <Button
        variant="secondary"
        onClick={() => resend.mutate()}
        busy={resend.isPending}
        disabled={cooldown > 0}
      >
        {cooldown > 0 ? `Resend the link (${cooldown} s)` : "Resend the link"}
      </Button>
    </AuthCard>
  );
}
