import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { LOGGED_OUT, PLANS, PLANS_ROUTE, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import { Landing } from "./Landing";
import { Pricing, planNote } from "./Pricing";

afterEach(() => vi.restoreAllMocks());

it("sends a visitor to sign up from each plan", async () => {
  mockApi({ ...LOGGED_OUT, ...PLANS_ROUTE });
  renderPage(<Pricing />, "/pricing");
  expect(await screen.findByRole("link", { name: "Get started with Pro" })).toHaveAttribute("href", "/signup");
  expect(screen.getByRole("link", { name: "Start for free" })).toHaveAttribute("href", "/signup");
  expect(screen.getByText("per 1M characters")).toBeInTheDocument();
});

it("sends a logged-in person to billing, marking their plan", async () => {
  mockApi({ ...loggedIn({ plan: "starter" }), ...PLANS_ROUTE });
  renderPage(<Pricing />, "/pricing");
  expect(await screen.findByRole("link", { name: "Choose Pro" })).toHaveAttribute("href", "/billing");
  expect(await screen.findByRole("link", { name: "Manage your plan" })).toHaveAttribute("href", "/billing");
  expect(screen.getByText("Current plan")).toBeInTheDocument();
});

it("says how each kind of plan behaves at its limit", () => {
  expect(planNote(PLANS[0]!)).toMatch(/No card needed/);
  expect(planNote(PLANS[2]!)).toMatch(/Billed monthly/);
  expect(planNote(PLANS[3]!)).toMatch(/spend cap/);
});

it("landing: says what Vocalis is, links to sign-up and the docs, and lists the plans", async () => {
  mockApi({ ...LOGGED_OUT, ...PLANS_ROUTE });
  renderPage(<Landing />, "/");
  expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent(/neural speech/);
  expect(screen.getByRole("link", { name: "Sign up for free" })).toHaveAttribute("href", "/signup");
  expect(screen.getByRole("link", { name: "Read the docs" })).toHaveAttribute("href", "/docs");
  const plans = await screen.findByRole("list", { name: "Plans" });
  expect(within(plans).getByText("Pay-as-you-go")).toBeInTheDocument();
  expect(within(plans).getByText("Metered")).toBeInTheDocument();
});

it("landing: the code samples are tabs, reachable with the arrow keys", async () => {
  mockApi({ ...LOGGED_OUT, ...PLANS_ROUTE });
  renderPage(<Landing />, "/");
  const user = userEvent.setup();
  const python = screen.getByRole("tab", { name: "Python" });
  expect(python).toHaveAttribute("aria-selected", "true");
  expect(screen.getByRole("tabpanel")).toHaveTextContent(`base_url="${window.location.origin}/v1"`);
  await user.click(python);
  await user.keyboard("{ArrowRight}");
  const node = screen.getByRole("tab", { name: "Node.js" });
  expect(node).toHaveAttribute("aria-selected", "true");
  expect(node).toHaveFocus();
  await user.keyboard("{End}");
  expect(screen.getByRole("tabpanel")).toHaveTextContent("/v1/tts/stream");
});
