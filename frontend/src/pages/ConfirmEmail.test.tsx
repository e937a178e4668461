import { screen } from "@testing-library/react";
import { afterEach, expect, it, vi } from "vitest";
import { LOGGED_OUT, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import { ConfirmEmail } from "./ConfirmEmail";

afterEach(() => vi.restoreAllMocks());

it("confirms the new address once and says so", async () => {
  const calls = mockApi({
    ...loggedIn(),
    "POST /auth/email/confirm": { status: 200, body: { id: "acc_1", email: "new@example.com", plan: "free", email_verified: true } },
  });
  renderPage(<ConfirmEmail />, "/confirm-email?token=tok");
  expect(await screen.findByText("Your new email address is confirmed")).toBeInTheDocument();
  expect(screen.getByText("new@example.com")).toBeInTheDocument();
  expect(calls.filter((call) => call.path === "/auth/email/confirm")).toHaveLength(1);
});

it("says when the address now belongs to another account", async () => {
  mockApi({
    ...LOGGED_OUT,
    "POST /auth/email/confirm": { status: 409, body: { detail: "that address now belongs to another account", code: "email_taken" } },
  });
  renderPage(<ConfirmEmail />, "/confirm-email?token=tok");
  expect(await screen.findByText("Another account uses this address now")).toBeInTheDocument();
});

it("explains an invalid link", async () => {
  mockApi({ ...LOGGED_OUT, "POST /auth/email/confirm": { status: 422, body: { detail: "invalid", code: "invalid_token" } } });
  renderPage(<ConfirmEmail />, "/confirm-email?token=tok");
  expect(await screen.findByText("The link is invalid or has expired")).toBeInTheDocument();
});

it("asks for the mail's link when there is no token", () => {
  const calls = mockApi(LOGGED_OUT);
  renderPage(<ConfirmEmail />, "/confirm-email");
  expect(screen.getByText("This page needs the link from the confirmation mail")).toBeInTheDocument();
  expect(calls.some((call) => call.method === "POST")).toBe(false);
});
