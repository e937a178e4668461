import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOGGED_OUT, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import { LogIn, formatWait, safeNext } from "./LogIn";

afterEach(() => vi.restoreAllMocks());

describe("safeNext", () => {
  it("keeps a path on this site", () => {
    expect(safeNext("/keys")).toBe("/keys");
    expect(safeNext("/jobs?status=failed#top")).toBe("/jobs?status=failed#top");
  });

  it("refuses anything that could leave the site", () => {
    for (const bad of [null, "", "keys", "//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)"]) {
      expect(safeNext(bad)).toBeNull();
    }
  });
});

it("formats a wait", () => {
  expect(formatWait(1)).toBe("a second");
  expect(formatWait(42)).toBe("42 seconds");
  expect(formatWait(60)).toBe("a minute");
  expect(formatWait(61)).toBe("2 minutes");
  expect(formatWait(900)).toBe("15 minutes");
});

const ME = { id: "acc_1", email: "ada@example.com", plan: "free", email_verified: true, csrf_token: "t" };

async function logIn(email = "ada@example.com", password = "a long passphrase") {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), email);
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Log in" }));
}

describe("LogIn", () => {
  it("logs in and goes on to ?next=", async () => {
    const calls = mockApi({ ...LOGGED_OUT, "POST /auth/login": { status: 200, body: ME } });
    renderPage(<LogIn />, "/login?next=%2Fkeys%3Ftab%3D1");
    await logIn();
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/keys?tab=1"));
    expect(calls).toContainEqual({
      method: "POST", path: "/auth/login", body: { email: "ada@example.com", password: "a long passphrase" },
    });
  });

  it("goes to the overview when next is another site", async () => {
    mockApi({ ...LOGGED_OUT, "POST /auth/login": { status: 200, body: ME } });
    renderPage(<LogIn />, "/login?next=%2F%2Fevil.example");
    await logIn();
    expect(await screen.findByText("Overview page")).toBeInTheDocument();
  });

  it("says the email or password is wrong, and clears the password", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /auth/login": { status: 401, body: { detail: "wrong email address or password", code: "invalid_credentials" } },
    });
    renderPage(<LogIn />, "/login");
    await logIn();
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password");
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(screen.getByLabelText("Password")).toHaveFocus();
    expect(screen.getByLabelText("Email")).toHaveValue("ada@example.com");
  });

  it("says when there were too many attempts, and how long to wait", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /auth/login": {
        status: 429,
        body: { detail: "too many failed logins; try again later", code: "too_many_login_attempts" },
        headers: { "Retry-After": "300" },
      },
    });
    renderPage(<LogIn />, "/login");
    await logIn();
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Too many login attempts");
    expect(alert).toHaveTextContent("Try again in 5 minutes");
    expect(screen.getByRole("button", { name: "Log in" })).toBeDisabled();
  });

  it("checks the fields before sending", async () => {
    const calls = mockApi(LOGGED_OUT);
    renderPage(<LogIn />, "/login");
    await userEvent.setup().click(screen.getByRole("button", { name: "Log in" }));
    expect(screen.getByText("Enter your email address.")).toBeInTheDocument();
    expect(screen.getByText("Enter your password.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);
  });

  it("links to password reset and sign-up", () => {
    mockApi(LOGGED_OUT);
    renderPage(<LogIn />, "/login");
    expect(screen.getByRole("link", { name: "Forgot your password?" })).toHaveAttribute("href", "/forgot-password");
    expect(screen.getByRole("link", { name: "Create an account" })).toHaveAttribute("href", "/signup");
  });

  it("sends someone already logged in straight on", async () => {
    mockApi(loggedIn());
    renderPage(<LogIn />, "/login?next=%2Fjobs");
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent(/^\/jobs$/));
  });
});
