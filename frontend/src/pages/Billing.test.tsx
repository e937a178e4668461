import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PLANS, PLANS_ROUTE, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import {
  Billing, type BillingState, browser, capCharacters, centsToInput, hasLiveSubscription, parseAmount,
  subscriptionStatus,
} from "./Billing";

afterEach(() => vi.restoreAllMocks());

const payg = PLANS[3]!;

const BASE: BillingState = {
  enabled: true,
  plan: "free",
  subscribed_plan: null,
  subscription_status: null,
  period_start: null,
  period_end: null,
  payment_overdue_since: null,
  grace_ends_at: null,
  plan_ends_at: null,
  spend_cap_cents: null,
  spend_cap_characters: null,
  portal_available: false,
};

const name = (id: string) => PLANS.find((plan) => plan.id === id)?.name ?? id;

describe("parseAmount", () => {
  it("reads what people type", () => {
    expect(parseAmount("")).toEqual({ ok: true, cents: null });
    expect(parseAmount("  ")).toEqual({ ok: true, cents: null });
    expect(parseAmount("25")).toEqual({ ok: true, cents: 2500 });
    expect(parseAmount("12.5")).toEqual({ ok: true, cents: 1250 });
    expect(parseAmount("12,50")).toEqual({ ok: true, cents: 1250 });
    expect(parseAmount("€ 1,000.75")).toEqual({ ok: true, cents: 100075 });
    expect(parseAmount("0")).toEqual({ ok: true, cents: 0 });
    expect(parseAmount("30 EUR")).toEqual({ ok: true, cents: 3000 });
  });

  it("refuses what is not an amount", () => {
    expect(parseAmount("-5")).toMatchObject({ ok: false, error: expect.stringMatching(/like 25 or 12.50/) });
    expect(parseAmount("ten")).toMatchObject({ ok: false });
    expect(parseAmount("1.234")).toMatchObject({ ok: false, error: expect.stringMatching(/two decimals/) });
    expect(parseAmount("10000001")).toMatchObject({ ok: false, error: expect.stringMatching(/at most €10,000,000/) });
  });

  it("writes cents back as an input shows them", () => {
    expect(centsToInput(2500)).toBe("25");
    expect(centsToInput(1250)).toBe("12.50");
  });
});

it("counts the characters a cap pays for, as the server does", () => {
  expect(capCharacters(500, payg)).toBe(1_666_666);
  expect(capCharacters(150, payg)).toBe(500_000);
  expect(capCharacters(500, PLANS[1])).toBeNull();
});

describe("subscriptionStatus", () => {
  const now = new Date("2025-03-05T12:00:00Z");

  it("is active, with the renewal date", () => {
    const state = { ...BASE, plan: "pro", subscribed_plan: "pro", subscription_status: "active", period_end: "2025-04-01T00:00:00Z" };
    expect(subscriptionStatus(state, name, now)).toEqual({ tone: "success", label: "Active", detail: "Renews on Apr 1, 2025." });
    expect(hasLiveSubscription(state)).toBe(true);
  });

  it("is past due, with the day the account falls back to Free", () => {
    const state = {
      ...BASE, plan: "pro", subscribed_plan: "pro", subscription_status: "past_due", payment_overdue_since: "2025-03-03T12:00:00Z",
      grace_ends_at: "2025-03-10T12:00:00Z",
    };
    const status = subscriptionStatus(state, name, now);
    expect(status.label).toBe("Past due");
    expect(status.tone).toBe("warning");
    expect(status.detail).toMatch(/falls back to the Free plan on Mar 10, 2025/);
  });

  it("says when the grace period is over", () => {
    const state = { ...BASE, subscribed_plan: "pro", subscription_status: "unpaid", payment_overdue_since: "2025-02-01T00:00:00Z", grace_ends_at: "2025-02-08T00:00:00Z" };
    const status = subscriptionStatus(state, name, now);
    expect(status.tone).toBe("danger");
    expect(status.detail).toMatch(/on the Free plan's limits.*get Pro back/);
  });

  it("is cancelled, with the end date", () => {
    const state = { ...BASE, plan: "pro", subscribed_plan: "pro", subscription_status: "active", plan_ends_at: "2025-03-31T00:00:00Z" };
    const status = subscriptionStatus(state, name, now);
    expect(status.label).toBe("Cancelled");
    expect(status.detail).toMatch(/Your Pro plan is cancelled: it stays until Mar 31, 2025/);
  });

  it("has no subscription on Free", () => {
    expect(subscriptionStatus(BASE, name, now)).toEqual({ tone: "neutral", label: "No subscription", detail: null });
    expect(hasLiveSubscription(BASE)).toBe(false);
  });
});

function billingRoutes(state: BillingState, more = {}) {
  return { ...loggedIn(), ...PLANS_ROUTE, "GET /account/billing": { status: 200, body: state }, ...more };
}

describe("Billing page", () => {
  it("says when billing is not enabled and shows the plan only", async () => {
    mockApi(billingRoutes({ ...BASE, enabled: false, plan: "starter" }));
    renderPage(<Billing />, "/billing");
    expect(await screen.findByText("Billing is not enabled on this server")).toBeInTheDocument();
    expect(await screen.findByText("Starter")).toBeInTheDocument();
    expect(screen.queryByRole("list", { name: "Plans" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Manage billing" })).not.toBeInTheDocument();
  });

  it("starts Checkout for a plan and sends the browser to Stripe", async () => {
    const assign = vi.spyOn(browser, "assign").mockImplementation(() => {});
    const calls = mockApi(billingRoutes(BASE, {
      "POST /billing/checkout": { status: 200, body: { url: "https://checkout.stripe.com/c/pay/cs_1", kind: "checkout" } },
    }));
    renderPage(<Billing />, "/billing");
    const upgrade = await screen.findByRole("button", { name: "Upgrade to Pro" });
    expect(screen.getByRole("button", { name: "Your current plan" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Choose Pay-as-you-go" })).toBeInTheDocument();
    await userEvent.setup().click(upgrade);
    await waitFor(() => expect(assign).toHaveBeenCalledWith("https://checkout.stripe.com/c/pay/cs_1"));
    expect(calls).toContainEqual({ method: "POST", path: "/billing/checkout", body: { plan: "pro" } });
  });

  it("explains a refused checkout", async () => {
    mockApi(billingRoutes(BASE, {
      "POST /billing/checkout": { status: 403, body: { detail: "confirm your email address first", code: "email_not_verified" } },
    }));
    renderPage(<Billing />, "/billing");
    await userEvent.setup().click(await screen.findByRole("button", { name: "Upgrade to Starter" }));
    expect(await screen.findByText("Confirm your email address first")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "have a new one sent" })).toHaveAttribute("href", "/verify");
  });

  it("opens the portal from Manage billing, and shows a past-due subscription", async () => {
    const assign = vi.spyOn(browser, "assign").mockImplementation(() => {});
    mockApi(billingRoutes(
      {
        ...BASE, plan: "pro", subscribed_plan: "pro", subscription_status: "past_due",
        payment_overdue_since: new Date().toISOString(), portal_available: true,
        grace_ends_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      },
      { "POST /billing/portal": { status: 200, body: { url: "https://billing.stripe.com/p/session/1", kind: "portal" } } },
    ));
    renderPage(<Billing />, "/billing");
    expect(await screen.findByText("Past due")).toBeInTheDocument();
    expect(screen.getByText(/falls back to the Free plan on/)).toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole("button", { name: "Manage billing" }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith("https://billing.stripe.com/p/session/1"));
  });

  it("sets pay-as-you-go's spend cap, showing the characters it pays for", async () => {
    const state = { ...BASE, plan: "payg", subscribed_plan: "payg", subscription_status: "active", portal_available: true };
    const calls = mockApi(billingRoutes(state, {
      "PUT /billing/spend-cap": (body: unknown) => {
        const cents = (body as { spend_cap_cents: number | null }).spend_cap_cents;
        return { status: 200, body: { ...state, spend_cap_cents: cents, spend_cap_characters: cents === null ? null : Math.floor((cents * 1e6) / 300) } };
      },
    }));
    renderPage(<Billing />, "/billing");
    const input = await screen.findByLabelText("Spend cap a month (EUR)");
    expect(screen.getByText("No cap is set: every character you use is billed.")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(input, "5");
    expect(screen.getByText("€5 a month pays for 1,666,666 characters.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Save spend cap" }));
    expect(await screen.findByText("The spend cap is saved.")).toBeInTheDocument();
    expect(calls).toContainEqual({ method: "PUT", path: "/billing/spend-cap", body: { spend_cap_cents: 500 } });
    const card = screen.getByRole("heading", { name: "Monthly spend cap" }).closest("section")!;
    expect(within(card).getByText("1,666,666")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Remove the cap" }));
    expect(await screen.findByText("The spend cap is removed.")).toBeInTheDocument();
    expect(calls).toContainEqual({ method: "PUT", path: "/billing/spend-cap", body: { spend_cap_cents: null } });
    expect(screen.getByLabelText("Spend cap a month (EUR)")).toHaveValue("");
  });

  it("refuses a malformed cap before sending it", async () => {
    const calls = mockApi(billingRoutes({ ...BASE, plan: "payg" }));
    renderPage(<Billing />, "/billing");
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Spend cap a month (EUR)"), "1.999");
    await user.click(screen.getByRole("button", { name: "Save spend cap" }));
    expect(screen.getByText("Use at most two decimals, like 12.50.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "PUT")).toBe(false);
  });

  it("thanks for a payment, and says a cancelled checkout changed nothing", async () => {
    mockApi(billingRoutes({ ...BASE, plan: "pro", subscribed_plan: "pro", subscription_status: "active" }));
    const first = renderPage(<Billing />, "/billing?checkout=success");
    expect(await screen.findByText("Thank you: your payment went through")).toBeInTheDocument();
    expect(await screen.findByText(/Your Pro plan is active/)).toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByText("Thank you: your payment went through")).not.toBeInTheDocument();
    first.unmount();

    renderPage(<Billing />, "/billing?checkout=cancelled");
    expect(await screen.findByText("Checkout cancelled")).toBeInTheDocument();
  });

  it("shows an error it can retry", async () => {
    mockApi({ ...loggedIn(), ...PLANS_ROUTE, "GET /account/billing": { status: 503, body: { detail: "database unavailable", code: "database_unavailable" } } });
    renderPage(<Billing />, "/billing");
    expect(await screen.findByText("database unavailable")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
