import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { LOGGED_OUT, mockApi, renderPage } from "../components/PlanCards.testkit";
import { ForgotPassword } from "./ForgotPassword";

afterEach(() => vi.restoreAllMocks());

it("asks for a reset mail and says one is on its way if the account exists", async () => {
  const calls = mockApi({ ...LOGGED_OUT, "POST /auth/password/forgot": { status: 202, body: { detail: "ok" } } });
  renderPage(<ForgotPassword />, "/forgot-password");
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), "ada@example.com");
  await user.click(screen.getByRole("button", { name: "Send the reset link" }));
  const notice = await screen.findByText(/If an account exists for/);
  expect(notice).toHaveTextContent("If an account exists for ada@example.com, a mail");
  expect(calls).toContainEqual({ method: "POST", path: "/auth/password/forgot", body: { email: "ada@example.com" } });
  expect(screen.getByRole("button", { name: /Send it again/ })).toBeDisabled();
});

it("checks the address first", async () => {
  const calls = mockApi(LOGGED_OUT);
  renderPage(<ForgotPassword />, "/forgot-password");
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), "not-an-address");
  await user.click(screen.getByRole("button", { name: "Send the reset link" }));
  expect(screen.getByText(/Enter an email address like/)).toBeInTheDocument();
  expect(calls.some((call) => call.method === "POST")).toBe(false);
});
