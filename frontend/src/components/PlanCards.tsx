// The plans on sale (GET /v1/plans) as cards: price, monthly allowance and, where the page wants
// one, an action per plan. Landing, Pricing and Billing all show them through this component so
// that a plan reads the same everywhere.
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { formatInteger, formatMoney } from "../lib/format";
import { ErrorNotice } from "./ErrorNotice";
import { Badge, EmptyState, Skeleton } from "./ui";
import "./PlanCards.css";

export type Plan = components["schemas"]["PlanOut"];

export const PLANS_KEY = ["plans"] as const;

/** The plans on sale; the server lets them be cached five minutes, and so do we. */
export function usePlans() {
  return useQuery({
    queryKey: PLANS_KEY,
    queryFn: async () => (await unwrap(api.GET("/v1/plans"))).plans,
    staleTime: 5 * 60_000,
  });
}

/** The characters a metered plan's price pays for. */
export const METERED_UNIT = 1_000_000;

/** "€4" and "/ month", or for a metered plan "€3" and "per 1M characters". */
export function planPrice(plan: Plan): { amount: string; period: string } {
  const amount = formatMoney(plan.price_cents, plan.currency);
  return plan.metered ? { amount, period: "per 1M characters" } : { amount, period: "/ month" };
}

/** The price in one phrase: "€4 / month", "€3 per 1M characters", "Free". */
export function describePrice(plan: Plan): string {
  if (!plan.metered && plan.price_cents === 0) return "Free";
  const { amount, period } = planPrice(plan);
  return `${amount} ${period}`;
}

/** Whether checking out is meaningful: a free, unmetered plan needs no payment. */
export function isPaid(plan: Plan): boolean {
  return plan.metered || plan.price_cents > 0;
}

/** A monthly audio allowance as a person reads it: "11 min", "1 h 51 min", "37 h". */
export function formatAudio(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours >= 10 || rest === 0) return `${formatInteger(Math.round(minutes / 60))} h`;
  return `${hours} h ${rest} min`;
}

/** What a plan gives a month, one line each. */
export function planAllowances(plan: Plan): string[] {
  if (plan.metered) {
    return [
      "No monthly allowance: billed per character used",
      "An optional monthly spend cap",
    ];
  }
  const lines: string[] = [];
  lines.push(plan.characters === null ? "Unlimited characters" : `${formatInteger(plan.characters)} characters a month`);
  lines.push(plan.audio_seconds === null ? "Unlimited audio" : `${formatAudio(plan.audio_seconds)} of audio a month`);
  return lines;
}

/** The plan with `id` among `plans`, if there is one. */
export function findPlan(plans: Plan[] | undefined, id: string | null | undefined): Plan | undefined {
  if (!plans || !id) return undefined;
  return plans.find((plan) => plan.id === id);
}

export function PlanCards({
  currentPlanId,
  action,
  headingLevel = 3,
  extra,
  label = "Plans",
}: {
  /** The plan the viewer is on, marked "Current plan". */
  currentPlanId?: string | null;
  /** A button or link under each plan. */
  action?: (plan: Plan, current: boolean) => ReactNode;
  /** The level of each plan's name, to fit the page's outline. */
  headingLevel?: 2 | 3;
  /** More lines under a plan's allowances (the Pricing page's details). */
  extra?: (plan: Plan) => ReactNode;
  label?: string;
}) {
  const plans = usePlans();
  if (plans.isPending) {
    return (
      <div className="plans" aria-busy="true" aria-label="Loading plans">
        {[0, 1, 2].map((index) => (
          <div key={index} className="card plan">
            <Skeleton lines={4} />
          </div>
        ))}
      </div>
    );
  }
  if (plans.isError) return <ErrorNotice error={plans.error} onRetry={() => void plans.refetch()} />;
  if (plans.data.length === 0) {
    return <EmptyState title="No plans on sale">This server does not list any plans yet.</EmptyState>;
  }
  const Heading = headingLevel === 2 ? "h2" : "h3";
  return (
    <ul className="plans plan-cards" aria-label={label}>
      {plans.data.map((plan) => {
        const current = plan.id === currentPlanId;
        const { amount, period } = planPrice(plan);
        return (
          <li key={plan.id} className={`card plan ${current ? "plan-current" : ""}`}>
            <div className="plan-card-head">
              <Heading className="plan-card-name">{plan.name}</Heading>
              <span className="plan-card-badges">
                {current ? <Badge tone="info">Current plan</Badge> : null}
                {plan.metered ? <Badge>Metered</Badge> : null}
              </span>
            </div>
            <p className="plan-price">
              {amount} <span className="plan-card-period">{period}</span>
            </p>
            <ul className="plan-card-features">
              {planAllowances(plan).map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
            {extra ? <div className="plan-card-extra">{extra(plan)}</div> : null}
            {action ? <div className="plan-card-action">{action(plan, current)}</div> : null}
          </li>
        );
      })}
    </ul>
  );
}

/** The public pages' button under a plan: sign up when logged out, else choose it in Billing. */
export function PlanLink({ plan, current, loggedIn }: { plan: Plan; current: boolean; loggedIn: boolean }) {
  if (!loggedIn) {
    return (
      <Link className={`button ${isPaid(plan) ? "button-primary" : "button-secondary"}`} to="/signup">
        {isPaid(plan) ? `Get started with ${plan.name}` : "Start for free"}
      </Link>
    );
  }
  if (current) {
    return <Link className="button button-secondary" to="/billing">Manage your plan</Link>;
  }
  return <Link className="button button-primary" to="/billing">Choose {plan.name}</Link>;
}
