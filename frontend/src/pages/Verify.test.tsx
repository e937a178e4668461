import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOGGED_OUT, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import { Verify } from "./Verify";

afterEach(() => vi.restoreAllMocks());

const ME = { id: "acc_1", email: "ada@example.com", plan: "free", email_verified: true };
const INVALID = { status: 422, body: { detail: "this link is invalid or has expired; ask for a new one", code: "invalid_token" } };

describe("Verify with a token", () => {
  it("spends the token once, even under StrictMode, and says the address is confirmed", async () => {
    const calls = mockApi({ ...LOGGED_OUT, "POST /auth/verify": { status: 200, body: ME } });
    renderPage(<Verify />, "/verify?token=tok_123");
    expect(await screen.findByText("Your email address is confirmed")).toBeInTheDocument();
    const posts = calls.filter((call) => call.path === "/auth/verify");
    expect(posts).toEqual([{ method: "POST", path: "/auth/verify", body: { token: "tok_123" } }]);
    // Logged out: the way on is to log in.
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login?next=%2Foverview");
  });

  it("refreshes the session and links to the dashboard when logged in", async () => {
    const calls = mockApi({ ...loggedIn({ email_verified: false }), "POST /auth/verify": { status: 200, body: ME } });
    renderPage(<Verify />, "/verify?token=tok_123");
    expect(await screen.findByText("Your email address is confirmed")).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "Go to your dashboard" })).toHaveAttribute("href", "/overview");
    await waitFor(() => expect(calls.filter((call) => call.path === "/auth/session").length).toBeGreaterThanOrEqual(2));
  });

  it("explains an expired or used link and offers a new one", async () => {
    const calls = mockApi({
      ...LOGGED_OUT,
      "POST /auth/verify": INVALID,
      "POST /auth/verify/resend": { status: 202, body: { detail: "sent" } },
    });
    renderPage(<Verify />, "/verify?token=old");
    expect(await screen.findByText("The link is invalid or has expired")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.click(screen.getByRole("button", { name: "Send a new link" }));
    expect(await screen.findByText(/a new link is on its way/)).toBeInTheDocument();
    expect(calls).toContainEqual({ method: "POST", path: "/auth/verify/resend", body: { email: "ada@example.com" } });
    expect(screen.getByRole("button", { name: /Send a new link \(\d+ s\)/ })).toBeDisabled();
  });

  it("offers to try again when the server could not answer", async () => {
    mockApi({ ...LOGGED_OUT, "POST /auth/verify": { status: 503, body: { detail: "database unavailable", code: "database_unavailable" } } });
    renderPage(<Verify />, "/verify?token=tok");
    expect(await screen.findByText("database unavailable")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});

describe("Verify without a token", () => {
  it("is a form to have the link sent again, filled in for a logged-in person", async () => {
    mockApi(loggedIn({ email: "bob@example.com", email_verified: false }));
    renderPage(<Verify />, "/verify");
    expect(screen.getByRole("heading", { name: "Confirm your email address" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveValue("bob@example.com"));
  });

  it("checks the address before sending", async () => {
    const calls = mockApi(LOGGED_OUT);
    renderPage(<Verify />, "/verify");
    await userEvent.setup().click(screen.getByRole("button", { name: "Send a new link" }));
    expect(screen.getByText("Enter your email address.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);
  });

  it("says an already confirmed address needs nothing more", async () => {
    mockApi(loggedIn());
    renderPage(<Verify />, "/verify");
    expect(await screen.findByText("Your email address is confirmed")).toBeInTheDocument();
  });
});
