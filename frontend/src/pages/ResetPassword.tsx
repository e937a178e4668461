// The reset mail's link (/reset-password?token=…): choose a new password, twice. Every session
// of the account ends on the server, so the page ends this tab's too and sends the person to log in.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Button } from "../components/ui";
import { AuthCard, PASSWORD_HINT, PasswordField, passwordProblem, sentence } from "./SignUp";
import { isInvalidToken, useRefreshSession } from "./Verify";

/** The problems of a new password and its repetition, each null when fine. */
export function newPasswordProblems(password: string, repeat: string): { password: string | null; repeat: string | null } {
  const problem = passwordProblem(password);
  if (problem) return { password: problem, repeat: null };
  if (repeat === "") return { password: null, repeat: "Enter the new password again." };
  if (repeat !== password) return { password: null, repeat: "The two passwords are not the same." };
  return { password: null, repeat: null };
}

export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get("token");
  if (!token) {
    return (
      <AuthCard
        title="Reset your password"
        footer={<p><Link to="/login">Back to log in</Link></p>}
      >
        <div className="notice notice-warning" role="alert">
          <p className="notice-title">This page needs the link from the reset mail</p>
          <p>Open the link in the mail we sent you, or ask for a new one.</p>
        </div>
        <Link className="button button-primary auth-submit" to="/forgot-password">Send me a reset link</Link>
      </AuthCard>
    );
  }
  return <ResetForm token={token} />;
}

function ResetForm({ token }: { token: string }) {
  const refresh = useRefreshSession();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);
  const repeatRef = useRef<HTMLInputElement>(null);
  const reset = useMutation({
    mutationFn: (newPassword: string) =>
      unwrap(api.POST("/auth/password/reset", { body: { token, password: newPassword } })),
    onSuccess: () => {
      setPassword("");
      setRepeat("");
      void refresh(); // the server ended every session, this tab's included
    },
  });

  const problems = submitted ? newPasswordProblems(password, repeat) : { password: null, repeat: null };

  function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    const found = newPasswordProblems(password, repeat);
    if (found.password) {
      passwordRef.current?.focus();
      return;
    }
    if (found.repeat) {
      repeatRef.current?.focus();
      return;
    }
    reset.mutate(password);
  }

  if (reset.isSuccess) {
    return (
      <AuthCard title="Password changed">
        <div className="notice notice-success" role="status">
          <p className="notice-title">Your new password is set</p>
          <p>For your security, every session of the account was logged out. Log in with the new password.</p>
        </div>
        <Link className="button button-primary auth-submit" to="/login">Log in</Link>
      </AuthCard>
    );
  }

  if (reset.isError && isInvalidToken(reset.error)) {
    return (
      <AuthCard title="This link can no longer be used" footer={<p><Link to="/login">Back to log in</Link></p>}>
        <div className="notice notice-error" role="alert">
          <p className="notice-title">The link is invalid or has expired</p>
          <p>A reset link works once, for one hour, and only the newest one sent works. Ask for a new one.</p>
        </div>
        <Link className="button button-primary auth-submit" to="/forgot-password">Send me a new link</Link>
      </AuthCard>
    );
  }

  return (
    <AuthCard
      title="Choose a new password"
      intro="Pick a password you don't use anywhere else."
      footer={<p><Link to="/login">Back to log in</Link></p>}
    >
      {reset.isError ? <ResetError error={reset.error} /> : null}
      <form onSubmit={submit} noValidate>
        <PasswordField
          label="New password" name="new-password" autoComplete="new-password" hint={PASSWORD_HINT}
          value={password} onChange={setPassword} error={problems.password} inputRef={passwordRef}
        />
        <PasswordField
          label="Repeat the new password" name="repeat-password" autoComplete="new-password"
          value={repeat} onChange={setRepeat} error={problems.repeat} inputRef={repeatRef}
        />
        <Button type="submit" className="auth-submit" busy={reset.isPending}>Set the new password</Button>
      </form>
    </AuthCard>
  );
}

function ResetError({ error }: { error: unknown }) {
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
