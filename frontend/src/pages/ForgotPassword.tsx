// Forgot the password: the server mails a reset link (valid one hour) if the address has an
// account, and answers the same either way, so the page cannot tell who has one.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Button } from "../components/ui";
import { AuthCard, EmailField, emailProblem, useCooldown } from "./SignUp";

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [cooldown, startCooldown] = useCooldown();
  const inputRef = useRef<HTMLInputElement>(null);
  const forgot = useMutation({
    mutationFn: (address: string) => unwrap(api.POST("/auth/password/forgot", { body: { email: address } })),
    onSuccess: (_answer, address) => {
      setSentTo(address);
      startCooldown();
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const problem = emailProblem(email);
    setError(problem);
    if (problem) {
      inputRef.current?.focus();
      return;
    }
    forgot.mutate(email.trim());
  }

  if (sentTo !== null) {
    return (
      <AuthCard
        title="Check your inbox"
        footer={<p><Link to="/login">Back to log in</Link></p>}
      >
        <div className="notice notice-success" role="status">
          If an account exists for <strong className="auth-email">{sentTo}</strong>, a mail
          with a link to choose a new password is on its way.
        </div>
        <p>The link works for one hour. Nothing after a few minutes? Look in your spam folder.</p>
        {forgot.isError ? <ErrorNotice error={forgot.error} /> : null}
        <div className="auth-actions">
          <Button
            variant="secondary"
            onClick={() => forgot.mutate(sentTo)}
            busy={forgot.isPending}
            disabled={cooldown > 0}
          >
            {cooldown > 0 ? `Send it again (${cooldown} s)` : "Send it again"}
          </Button>
          <button
            type="button"
            className="link-button"
            onClick={() => {
              forgot.reset();
              setSentTo(null);
            }}
          >
            Use another address
          </button>
        </div>
      </AuthCard>
    );
  }

  return (
    <AuthCard
      title="Reset your password"
      intro="Enter the address you signed up with and we'll mail you a link to choose a new password."
      footer={<p>Remembered it? <Link to="/login">Log in</Link></p>}
    >
      {forgot.isError ? <ErrorNotice error={forgot.error} /> : null}
      <form onSubmit={submit} noValidate>
        <EmailField value={email} onChange={setEmail} error={error} inputRef={inputRef} />
        <Button type="submit" className="auth-submit" busy={forgot.isPending}>Send the reset link</Button>
      </form>
    </AuthCard>
  );
}
