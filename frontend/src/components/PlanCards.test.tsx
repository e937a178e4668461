import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PLANS, PLANS_ROUTE, mockApi, renderPage } from "./PlanCards.testkit";
import { PlanCards, describePrice, formatAudio, planAllowances, planPrice } from "./PlanCards";

afterEach(() => vi.restoreAllMocks());

const [free, starter, , payg] = PLANS as [typeof PLANS[0], typeof PLANS[0], typeof PLANS[0], typeof PLANS[0]];

describe("plan figures", () => {
  it("prices a monthly plan and a metered one", () => {
    expect(planPrice(starter)).toEqual({ amount: "€4", period: "/ month" });
    expect(planPrice(payg)).toEqual({ amount: "€3", period: "per 1M characters" });
    expect(describePrice(payg)).toBe("€3 per 1M characters");
    expect(describePrice(free)).toBe("Free");
    expect(describePrice({ ...starter, price_cents: 1250 })).toBe("€12.50 / month");
  });

  it("reads audio allowances as a person would", () => {
    expect(formatAudio(45)).toBe("45 s");
    expect(formatAudio(667)).toBe("11 min");
    expect(formatAudio(6667)).toBe("1 h 51 min");
    expect(formatAudio(7200)).toBe("2 h");
    expect(formatAudio(133_334)).toBe("37 h");
  });

  it("lists characters and audio a month, or says the plan is metered", () => {
    expect(planAllowances(starter)).toEqual(["100,000 characters a month", "1 h 51 min of audio a month"]);
    expect(planAllowances(payg)[0]).toMatch(/billed per character/);
  });
});

describe("PlanCards", () => {
  it("shows each plan with its price, allowance, badges and action", async () => {
    mockApi(PLANS_ROUTE);
    renderPage(<PlanCards currentPlanId="starter" action={(plan) => <button type="button">Pick {plan.name}</button>} />);
    const list = await screen.findByRole("list", { name: "Plans" });
    const cards = within(list).getAllByRole("listitem").filter((item) => item.classList.contains("plan"));
    expect(cards).toHaveLength(4);
    const metered = cards[3]!;
    expect(within(metered).getByText("Metered")).toBeInTheDocument();
    expect(metered).toHaveTextContent("€3 per 1M characters");
    expect(cards[1]).toHaveTextContent("Current plan");
    expect(cards[1]).toHaveClass("plan-current");
    expect(cards[1]).toHaveTextContent("100,000 characters a month");
    expect(screen.getByRole("button", { name: "Pick Pro" })).toBeInTheDocument();
  });

  it("says so when the plans cannot be loaded, and can try again", async () => {
    mockApi({ "GET /v1/plans": { status: 503, body: { detail: "database unavailable", code: "database_unavailable" } } });
    renderPage(<PlanCards />);
    expect(await screen.findByRole("alert")).toHaveTextContent("database unavailable");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("has an empty state", async () => {
    mockApi({ "GET /v1/plans": { status: 200, body: { plans: [] } } });
    renderPage(<PlanCards />);
    expect(await screen.findByText("No plans on sale")).toBeInTheDocument();
  });
});
