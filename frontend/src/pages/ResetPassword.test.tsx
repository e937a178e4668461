import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOGGED_OUT, mockApi, renderPage } from "../components/PlanCards.testkit";
import { ResetPassword, newPasswordProblems } from "./ResetPassword";

afterEach(() => vi.restoreAllMocks());

describe("newPasswordProblems", () => {
  it("checks the rules, then that both are the same", () => {
    expect(newPasswordProblems("short", "short").password).toMatch(/at least 10/);
    expect(newPasswordProblems("long enough pass", "")).toEqual({ password: null, repeat: "Enter the new password again." });
    expect(newPasswordProblems("long enough pass", "long enough pas")).toEqual({ password: null, repeat: "The two passwords are not the same." });
    expect(newPasswordProblems("long enough pass", "long enough pass")).toEqual({ password: null, repeat: null });
  });
});

async function fill(password: string, repeat: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("New password"), password);
  await user.type(screen.getByLabelText("Repeat the new password"), repeat);
  await user.click(screen.getByRole("button", { name: "Set the new password" }));
}

describe("ResetPassword", () => {
  it("sets the new password with the mailed token", async () => {
    const calls = mockApi({ ...LOGGED_OUT, "POST /auth/password/reset": { status: 200, body: { detail: "ok" } } });
    renderPage(<ResetPassword />, "/reset-password?token=tok_9");
    await fill("a new long passphrase", "a new long passphrase");
    expect(await screen.findByText("Your new password is set")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
    expect(calls).toContainEqual({
      method: "POST", path: "/auth/password/reset", body: { token: "tok_9", password: "a new long passphrase" },
    });
  });

  it("says when the two passwords differ, without sending", async () => {
    const calls = mockApi(LOGGED_OUT);
    renderPage(<ResetPassword />, "/reset-password?token=tok_9");
    await fill("a new long passphrase", "a new long passphrasE");
    expect(screen.getByText("The two passwords are not the same.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);
  });

  it("explains an expired link and offers a new one", async () => {
    mockApi({ ...LOGGED_OUT, "POST /auth/password/reset": { status: 422, body: { detail: "x", code: "invalid_token" } } });
    renderPage(<ResetPassword />, "/reset-password?token=old");
    await fill("a new long passphrase", "a new long passphrase");
    expect(await screen.findByText("The link is invalid or has expired")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Send me a new link" })).toHaveAttribute("href", "/forgot-password");
  });

  it("shows a password the server refuses", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /auth/password/reset": { status: 422, body: { detail: "the password must not be your email address", code: "password_too_common" } },
    });
    renderPage(<ResetPassword />, "/reset-password?token=tok");
    await fill("ada@example.com", "ada@example.com");
    expect(await screen.findByRole("alert")).toHaveTextContent("The password must not be your email address.");
  });

  it("needs the mail's link", () => {
    mockApi(LOGGED_OUT);
    renderPage(<ResetPassword />, "/reset-password");
    expect(screen.getByText("This page needs the link from the reset mail")).toBeInTheDocument();
  });
});
