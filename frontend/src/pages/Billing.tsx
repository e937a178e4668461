// Billing: the plan that applies now and the state of its subscription, plan changes through
// Stripe Checkout or the Customer Portal, and pay-as-you-go's monthly spend cap.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNotice } from "../components/ErrorNotice";
import {
  METERED_UNIT, type Plan, PlanCards, findPlan, isPaid, planAllowances, planPrice, usePlans,
} from "../components/PlanCards";
import { Badge, Button, Card, Field, PageHeader, Skeleton } from "../components/ui";
import { formatDate, formatInteger, formatMoney } from "../lib/format";
import { useSession, useSessionActions } from "../lib/session";
import "./Billing.css";

export type BillingState = components["schemas"]["BillingOut"];
type Redirect = components["schemas"]["RedirectOut"];

export const BILLING_KEY = ["billing"] as const;

/** The largest cap the server takes (SpendCapIn: at most 10⁹ cents). */
export const MAX_SPEND_CAP_CENTS = 1_000_000_000;


// --- logic (tested in Billing.test.tsx) ------------------------------------------------------

export type ParsedAmount = { ok: true; cents: number | null } | { ok: false; error: string };

/** An amount typed by a person ("25", "12.50", "12,5", "€ 30") in cents; empty is no amount. */
export function parseAmount(input: string, currency = "eur"): ParsedAmount {
  let text = input.replace(/[\s€$£]/g, "").replace(/^(eur|usd|gbp)|(eur|usd|gbp)$/i, "");
  if (text === "") return { ok: true, cents: null };
  text = text.includes(".") ? text.replace(/,/g, "") : text.replace(",", ".");
  if (!/^\d+(\.\d*)?$/.test(text)) {
    return { ok: false, error: "Enter an amount as a number, like 25 or 12.50." };
  }
  const [whole = "0", fraction = ""] = text.split(".");
  if (fraction.length > 2) return { ok: false, error: "Use at most two decimals, like 12.50." };
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
  if (!Number.isSafeInteger(cents) || cents > MAX_SPEND_CAP_CENTS) {
    return { ok: false, error: `The cap can be at most ${formatMoney(MAX_SPEND_CAP_CENTS, currency)}.` };
  }
  return { ok: true, cents };
}

/** Cents as an input shows them: 2500 → "25", 1250 → "12.50". */
export function centsToInput(cents: number): string {
  return cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2);
}

/** The characters a spend cap pays for on a metered plan, as the server counts them. */
export function capCharacters(cents: number, plan: Plan | undefined): number | null {
  if (!plan || !plan.metered || plan.price_cents <= 0) return null;
  return Math.floor((cents * METERED_UNIT) / plan.price_cents);
}

export type SubscriptionStatus = {
  tone: "success" | "warning" | "danger" | "neutral" | "info";
  label: string;
  detail: string | null;
};

const OVERDUE = new Set(["past_due", "unpaid"]);
const LIVE = new Set(["active", "trialing", "past_due", "unpaid"]);

/** Whether the account has a subscription that plan changes go through (the portal). */
export function hasLiveSubscription(state: BillingState): boolean {
  return state.subscribed_plan !== null && state.subscription_status !== null && LIVE.has(state.subscription_status);
}

/** The subscription as a badge and a sentence. */
export function subscriptionStatus(
  state: BillingState, planName: (id: string) => string, now: Date = new Date(),
): SubscriptionStatus {
  const status = state.subscription_status;
  const name = planName(state.subscribed_plan ?? state.plan);
  if (state.payment_overdue_since || (status !== null && OVERDUE.has(status))) {
    if (!state.payment_overdue_since) {
      return {
        tone: "warning",
        label: "Past due",
        detail: "The last payment did not go through. Update your payment method in Manage billing, or the account falls back to the Free plan.",
      };
    }
    // The server says when the grace ends (VOCALIS_BILLING_GRACE_DAYS after the first failure).
    const fallback = state.grace_ends_at ? new Date(state.grace_ends_at) : null;
    if (fallback === null || fallback.getTime() <= now.getTime()) {
      return {
        tone: "danger",
        label: "Past due",
        detail: `The payment due on ${formatDate(state.payment_overdue_since)} is still unpaid, so the account is on the Free plan's limits. Update your payment method in Manage billing to get ${name} back.`,
      };
    }
    return {
      tone: "warning",
      label: "Past due",
      detail: `The payment due on ${formatDate(state.payment_overdue_since)} did not go through. Update your payment method in Manage billing: if it stays unpaid, the account falls back to the Free plan on ${formatDate(fallback.toISOString())}.`,
    };
  }
  if (state.plan_ends_at) {
    return {
      tone: "warning",
      label: "Cancelled",
      detail: `Your ${name} plan is cancelled: it stays until ${formatDate(state.plan_ends_at)}, then the account moves to the Free plan. Changed your mind? Renew it in Manage billing.`,
    };
  }
  if (status === "active" || status === "trialing") {
    return {
      tone: "success",
      label: status === "trialing" ? "Trial" : "Active",
      detail: state.period_end ? `Renews on ${formatDate(state.period_end)}.` : null,
    };
  }
  if (status === "canceled") return { tone: "neutral", label: "Cancelled", detail: "The subscription has ended." };
  if (status) {
    const words = status.replace(/_/g, " ");
    return { tone: "neutral", label: words.charAt(0).toUpperCase() + words.slice(1), detail: null };
  }
  return { tone: "neutral", label: "No subscription", detail: null };
}

// --- the page --------------------------------------------------------------------------------

type Target = { kind: "checkout"; plan: string } | { kind: "portal" };

/** Where the browser is sent for Stripe (a seam for tests: jsdom cannot navigate). */
export const browser = {
  assign(url: string): void {
    window.location.assign(url);
  },
};

export function Billing() {
  const [params, setParams] = useSearchParams();
  const checkoutResult = params.get("checkout");
  const [pollUntil] = useState(() => (checkoutResult === "success" ? Date.now() + 60_000 : 0));
  const billing = useQuery({
    queryKey: BILLING_KEY,
    queryFn: () => unwrap(api.GET("/account/billing")),
    // Back from Checkout, the subscription arrives by Stripe's webhook a moment later: look again.
    refetchInterval: (query) => {
      const data = query.state.data;
      if (Date.now() > pollUntil) return false;
      if (data && data.subscription_status === "active" && data.subscribed_plan) return false;
      return 3000;
    },
  });
  const plans = usePlans();
  const session = useSession();
  const { refresh } = useSessionActions();

  // The sidebar shows the plan from the session: keep it in step when the plan changes.
  const billingPlan = billing.data?.plan;
  const sessionPlan = session.data?.plan;
  useEffect(() => {
    if (billingPlan && sessionPlan && billingPlan !== sessionPlan) void refresh();
  }, [billingPlan, sessionPlan]);

  const [leaving, setLeaving] = useState(false);
  useEffect(() => {
    // Back from Stripe with the back button (a page restored from the cache): usable again.
    const onShow = (event: PageTransitionEvent) => {
      if (event.persisted) setLeaving(false);
    };
    window.addEventListener("pageshow", onShow);
    return () => window.removeEventListener("pageshow", onShow);
  }, []);
  const redirect = useMutation({
    mutationFn: (target: Target): Promise<Redirect> =>
      target.kind === "checkout"
        ? unwrap(api.POST("/billing/checkout", { body: { plan: target.plan } }))
        : unwrap(api.POST("/billing/portal")),
    onSuccess: (answer) => {
      setLeaving(true);
      browser.assign(answer.url);
    },
  });
  const busyTarget = redirect.isPending || leaving ? redirect.variables : undefined;
  const openPortal = () => redirect.mutate({ kind: "portal" });
  const checkout = (plan: string) => redirect.mutate({ kind: "checkout", plan });

  const state = billing.data;
  const manage =
    state?.enabled && state.portal_available ? (
      <Button
        variant="secondary"
        onClick={openPortal}
        busy={busyTarget?.kind === "portal"}
        disabled={busyTarget !== undefined}
      >
        Manage billing
      </Button>
    ) : null;

  return (
    <div className="billing">
      <PageHeader
        title="Billing"
        description="Your plan, payments and limits."
        actions={manage}
      />
      {checkoutResult === "success" || checkoutResult === "cancelled" ? (
        <CheckoutBanner
          result={checkoutResult}
          state={state}
          planName={(id) => findPlan(plans.data, id)?.name ?? id}
          onDismiss={() =>
            setParams(
              (current) => {
                const next = new URLSearchParams(current);
                next.delete("checkout");
                return next;
              },
              { replace: true },
            )
          }
        />
      ) : null}
      {redirect.isError && redirect.variables?.kind === "portal" ? <RedirectError error={redirect.error} /> : null}

      {billing.isPending ? (
        <Card title="Current plan">
          <Skeleton lines={4} />
        </Card>
      ) : billing.isError ? (
        <ErrorNotice error={billing.error} onRetry={() => void billing.refetch()} />
      ) : (
        <BillingDetails
          state={billing.data}
          plans={plans.data}
          busyTarget={busyTarget}
          checkoutError={redirect.isError && redirect.variables?.kind === "checkout" ? redirect.error : null}
          onCheckout={checkout}
          onPortal={openPortal}
        />
      )}
    </div>
  );
}

function CheckoutBanner({
  result, state, planName, onDismiss,
}: {
  result: "success" | "cancelled";
  state: BillingState | undefined;
  planName: (id: string) => string;
  onDismiss: () => void;
}) {
  if (result === "cancelled") {
    return (
      <div className="notice notice-info billing-banner" role="status">
        <div>
          <p className="notice-title">Checkout cancelled</p>
          <p>Nothing was charged, and your plan has not changed.</p>
        </div>
        <button type="button" className="link-button" onClick={onDismiss}>Dismiss</button>
      </div>
    );
  }
  const confirmed = state?.subscription_status === "active" && state.subscribed_plan;
  return (
    <div className="notice notice-success billing-banner" role="status">
      <div>
        <p className="notice-title">Thank you: your payment went through</p>
        <p>
          {confirmed
            ? `Your ${planName(state.subscribed_plan ?? state.plan)} plan is active, with its new allowance from now on.`
            : "Your new plan applies as soon as Stripe confirms the subscription, usually within seconds. This page updates by itself."}
        </p>
      </div>
      <button type="button" className="link-button" onClick={onDismiss}>Dismiss</button>
    </div>
  );
}

function RedirectError({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.code === "email_not_verified") {
    return (
      <div className="notice notice-warning" role="alert">
        <p className="notice-title">Confirm your email address first</p>
        <p>
          Paid plans need a confirmed address. Open the link we mailed you when you signed up, or{" "}
          <Link to="/verify">have a new one sent</Link>.
        </p>
      </div>
    );
  }
  if (error instanceof ApiError && error.code === "billing_disabled") {
    return (
      <div className="notice notice-warning" role="alert">
        <p className="notice-title">Billing is not enabled on this server</p>
        <p>No payments are taken here; ask the server's operator to change your plan.</p>
      </div>
    );
  }
  return <ErrorNotice error={error} />;
}

function BillingDetails({
  state, plans, busyTarget, checkoutError, onCheckout, onPortal,
}: {
  state: BillingState;
  plans: Plan[] | undefined;
  busyTarget: Target | undefined;
  checkoutError: unknown;
  onCheckout: (plan: string) => void;
  onPortal: () => void;
}) {
  const plan = findPlan(plans, state.plan);
  const planName = (id: string) => findPlan(plans, id)?.name ?? id;
  const headingId = useId();

  if (!state.enabled) {
    return (
      <>
        <div className="notice notice-info" role="status">
          <p className="notice-title">Billing is not enabled on this server</p>
          <p>
            No payments are taken here: the server's operator sets each account's plan. Ask them if
            you need a bigger allowance.
          </p>
        </div>
        <CurrentPlan state={state} plan={plan} status={null} />
      </>
    );
  }

  const live = hasLiveSubscription(state);
  const metered = plan ? plan.metered : state.plan === "payg";
  const busy = busyTarget !== undefined;
  return (
    <>
      <CurrentPlan state={state} plan={plan} status={subscriptionStatus(state, planName)} planName={planName} />
      {metered ? <SpendCap state={state} plan={plan} /> : null}
      <section className="billing-section" aria-labelledby={headingId}>
        <h2 id={headingId}>{live ? "Change plan" : "Choose a plan"}</h2>
        <p className="muted">
          {live
            ? "Your subscription is managed on Stripe's billing page: choosing a plan takes you there, where you can also update your payment method, get invoices or cancel."
            : "Payment is handled securely by Stripe. Cancel any time: a paid plan lasts until the end of the period."}
        </p>
        {checkoutError ? <RedirectError error={checkoutError} /> : null}
        <PlanCards
          currentPlanId={state.plan}
          action={(candidate, current) => {
            if (current) return <Button variant="secondary" disabled>Your current plan</Button>;
            if (!isPaid(candidate)) {
              if (!live || !state.portal_available) return null;
              return (
                <>
                  <Button
                    variant="secondary"
                    onClick={onPortal}
                    busy={busyTarget?.kind === "portal"}
                    disabled={busy}
                  >
                    Downgrade to {candidate.name}
                  </Button>
                  <span className="small muted">Cancel in Manage billing; your plan lasts until the period ends.</span>
                </>
              );
            }
            const upgrade = plan !== undefined && !plan.metered && !candidate.metered && candidate.price_cents > plan.price_cents;
            return (
              <Button
                onClick={() => onCheckout(candidate.id)}
                busy={busyTarget?.kind === "checkout" && busyTarget.plan === candidate.id}
                disabled={busy}
              >
                {upgrade ? `Upgrade to ${candidate.name}` : `Choose ${candidate.name}`}
              </Button>
            );
          }}
        />
      </section>
    </>
  );
}

function CurrentPlan({
  state, plan, status, planName = (id) => id,
}: { state: BillingState; plan: Plan | undefined; status: SubscriptionStatus | null; planName?: (id: string) => string }) {
  const badge = status ? <Badge tone={status.tone}>{status.label}</Badge> : null;
  const alarming = status && (status.tone === "warning" || status.tone === "danger");
  return (
    <Card title="Current plan" actions={badge}>
      <div className="billing-plan">
        <div>
          <p className="billing-plan-name">{plan?.name ?? state.plan}</p>
          {plan ? (
            <p className="muted billing-plan-price">
              {planPrice(plan).amount} {planPrice(plan).period}
            </p>
          ) : null}
        </div>
        {plan ? (
          <ul className="billing-allowances">
            {planAllowances(plan).map((line) => <li key={line}>{line}</li>)}
          </ul>
        ) : null}
      </div>
      {status?.detail ? (
        alarming ? (
          <div className="notice notice-warning billing-status" role="status">{status.detail}</div>
        ) : (
          <p className="billing-status">{status.detail}</p>
        )
      ) : null}
      <dl className="billing-facts">
        {state.period_start && state.period_end ? (
          <div>
            <dt>Current period</dt>
            <dd>{formatDate(state.period_start)} – {formatDate(state.period_end)}</dd>
          </div>
        ) : null}
        {state.subscribed_plan && state.subscribed_plan !== state.plan ? (
          <div>
            <dt>Subscribed to</dt>
            <dd>{planName(state.subscribed_plan)}</dd>
          </div>
        ) : null}
      </dl>
    </Card>
  );
}

function SpendCap({ state, plan }: { state: BillingState; plan: Plan | undefined }) {
  const client = useQueryClient();
  const currency = plan?.currency ?? "eur";
  const [value, setValue] = useState(state.spend_cap_cents === null ? "" : centsToInput(state.spend_cap_cents));
  const [submitted, setSubmitted] = useState(false);
  const [saved, setSaved] = useState<"saved" | "removed" | null>(null);
  const save = useMutation({
    mutationFn: (cents: number | null) =>
      unwrap(api.PUT("/billing/spend-cap", { body: { spend_cap_cents: cents } })),
    onSuccess: (answer) => {
      client.setQueryData(BILLING_KEY, answer);
      setValue(answer.spend_cap_cents === null ? "" : centsToInput(answer.spend_cap_cents));
      setSaved(answer.spend_cap_cents === null ? "removed" : "saved");
      setSubmitted(false);
    },
  });
  const parsed = parseAmount(value, currency);
  const error = submitted && !parsed.ok ? parsed.error : null;

  let preview: string | null = null;
  if (parsed.ok && parsed.cents === null) preview = "With no cap, every character you use is billed.";
  if (parsed.ok && parsed.cents !== null) {
    const characters = capCharacters(parsed.cents, plan);
    preview = parsed.cents === 0
      ? "A cap of 0 stops all synthesis until you raise it."
      : characters === null
        ? null
        : `${formatMoney(parsed.cents, currency)} a month pays for ${formatInteger(characters)} characters.`;
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    setSaved(null);
    if (!parsed.ok) return;
    save.mutate(parsed.cents);
  }

  return (
    <Card title="Monthly spend cap">
      <p>
        {state.spend_cap_cents === null ? (
          <>No cap is set: every character you use is billed.</>
        ) : (
          <>
            Capped at <strong>{formatMoney(state.spend_cap_cents, currency)}</strong> a month
            {state.spend_cap_characters !== null
              ? <>: <strong>{formatInteger(state.spend_cap_characters)}</strong> characters</>
              : null}
            . Past that, requests are refused until the next period starts.
          </>
        )}
      </p>
      {saved ? (
        <div className="notice notice-success" role="status">
          {saved === "removed" ? "The spend cap is removed." : "The spend cap is saved."}
        </div>
      ) : null}
      {save.isError ? <ErrorNotice error={save.error} /> : null}
      <form className="billing-cap-form" onSubmit={submit} noValidate>
        <Field
          label={`Spend cap a month (${currency.toUpperCase()})`}
          hint="Leave empty for no cap."
          error={error}
        >
          {(id, describedBy) => (
            <input
              id={id}
              type="text"
              inputMode="decimal"
              autoComplete="off"
              value={value}
              onChange={(event) => {
                setValue(event.target.value);
                setSaved(null);
              }}
              aria-describedby={describedBy}
              aria-invalid={error ? true : undefined}
            />
          )}
        </Field>
        <p className="billing-cap-preview muted small" aria-live="polite">{preview}</p>
        <div className="billing-cap-actions">
          <Button type="submit" busy={save.isPending && save.variables !== null}>Save spend cap</Button>
          {state.spend_cap_cents !== null ? (
            <Button
              variant="secondary"
              onClick={() => {
                setSaved(null);
                save.mutate(null);
              }}
              busy={save.isPending && save.variables === null}
            >
              Remove the cap
            </Button>
          ) : null}
        </div>
      </form>
    </Card>
  );
}
