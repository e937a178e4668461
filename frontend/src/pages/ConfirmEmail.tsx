// A change of address is confirmed from the new inbox (/confirm-email?token=…): the token is
// spent once, on load, and the account moves to the new address.
import { useCallback } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { useSession } from "../lib/session";
import { AuthCard, AuthPending, sentence } from "./SignUp";
import { isInvalidToken, useRefreshSession, useRunOnce } from "./Verify";

export function ConfirmEmail() {
  const [params] = useSearchParams();
  const token = params.get("token");
  if (!token) {
    return (
      <AuthCard title="Confirm your new address" footer={<p><Link to="/overview">Go to your dashboard</Link></p>}>
        <div className="notice notice-warning" role="alert">
          <p className="notice-title">This page needs the link from the confirmation mail</p>
          <p>
            When you change your address, we mail a link to the new one. Open that link to finish
            the change; until then the account keeps its current address.
          </p>
        </div>
      </AuthCard>
    );
  }
  return <ConfirmToken key={token} token={token} />;
}

function ConfirmToken({ token }: { token: string }) {
  const session = useSession();
  const refresh = useRefreshSession();
  const confirm = useCallback(async () => {
    const me = await unwrap(api.POST("/auth/email/confirm", { body: { token } }));
    void refresh(); // the dashboard shows the new address at once
    return me;
  }, [token, refresh]);
  const [state, retry] = useRunOnce(confirm);
  const next = session.data ? (
    <Link className="button button-primary auth-submit" to="/overview">Go to your dashboard</Link>
  ) : (
    <Link className="button button-primary auth-submit" to="/login?next=%2Foverview">Log in</Link>
  );

  if (state.status === "pending") {
    return <AuthPending title="Confirming your new address" />;
  }

  if (state.status === "success") {
    return (
      <AuthCard title="Address changed">
        <div className="notice notice-success" role="status">
          <p className="notice-title">Your new email address is confirmed</p>
          <p>
            Your account now uses <strong className="auth-email">{state.data.email}</strong>. Log in
            with it from now on; we told your old address about the change.
          </p>
        </div>
        {next}
      </AuthCard>
    );
  }

  if (isInvalidToken(state.error)) {
    return (
      <AuthCard title="This link can no longer be used">
        <div className="notice notice-error" role="alert">
          <p className="notice-title">The link is invalid or has expired</p>
          <p>
            A confirmation link works once, for 24 hours, and only the newest one sent works. Your
            account keeps its current address until you ask for the change again.
          </p>
        </div>
        {next}
      </AuthCard>
    );
  }

  if (state.error instanceof ApiError && state.error.code === "email_taken") {
    return (
      <AuthCard title="That address is taken">
        <div className="notice notice-error" role="alert">
          <p className="notice-title">Another account uses this address now</p>
          <p>{sentence(state.error.message)} Your account keeps its current address.</p>
        </div>
        {next}
      </AuthCard>
    );
  }

  return (
    <AuthCard title="We could not confirm your new address">
      <ErrorNotice error={state.error} onRetry={retry} />
      {next}
    </AuthCard>
  );
}
