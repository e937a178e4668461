import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOGGED_OUT, loggedIn, mockApi, renderPage } from "../components/PlanCards.testkit";
import { SignUp, emailProblem, passwordProblem, sentence } from "./SignUp";

afterEach(() => vi.restoreAllMocks());

describe("passwordProblem", () => {
  it("asks for at least 10 characters, counted as a person counts them", () => {
    expect(passwordProblem("")).toBe("Enter a password.");
    expect(passwordProblem("short")).toMatch(/at least 10 characters \(this one has 5\)/);
    expect(passwordProblem("😀😀😀😀😀😀😀😀😀")).toMatch(/at least 10/); // 9 characters, 36 bytes
    expect(passwordProblem("correct horse")).toBeNull();
  });

  it("refuses more than 72 bytes of UTF-8, as bcrypt counts them", () => {
    expect(passwordProblem("a".repeat(72))).toBeNull();
    expect(passwordProblem("a".repeat(73))).toMatch(/at most 72 bytes.*73 bytes/);
    expect(passwordProblem("é".repeat(36))).toBeNull(); // 72 bytes
    expect(passwordProblem("é".repeat(37))).toMatch(/accented letters or emoji/); // 74 bytes
  });
});

describe("emailProblem and sentence", () => {
  it("catches an empty or malformed address", () => {
    expect(emailProblem("  ")).toBe("Enter your email address.");
    expect(emailProblem("ada")).toMatch(/like name@example.com/);
    expect(emailProblem(" ada@example.com ")).toBeNull();
  });

  it("turns a server message into a sentence", () => {
    expect(sentence("wrong password")).toBe("Wrong password.");
    expect(sentence("Done!")).toBe("Done!");
  });
});

describe("SignUp", () => {
  it("checks the form before sending it", async () => {
    const calls = mockApi(LOGGED_OUT);
    renderPage(<SignUp />, "/signup");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(screen.getByText(/Use at least 10 characters/)).toBeInTheDocument();
    expect(screen.getByLabelText("Password")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Password")).toHaveFocus();
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(0);
  });

  it("signs up, says where the link went, and resends it", async () => {
    const calls = mockApi({
      ...LOGGED_OUT,
      "POST /auth/signup": { status: 202, body: { detail: "check your inbox" } },
      "POST /auth/verify/resend": { status: 202, body: { detail: "sent" } },
    });
    renderPage(<SignUp />, "/signup");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Email"), " ada@example.com");
    await user.type(screen.getByLabelText("Password"), "a long enough passphrase");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText(/Check your inbox: we sent a link to/)).toHaveTextContent("ada@example.com");
    expect(calls).toContainEqual({
      method: "POST", path: "/auth/signup", body: { email: "ada@example.com", password: "a long enough passphrase" },
    });
    // The server mails at most once a minute: the button waits too.
    const resend = screen.getByRole("button", { name: /Resend the link/ });
    expect(resend).toBeDisabled();
    expect(resend).toHaveTextContent(/\d+ s/);
  });

  it("shows a refused password in the server's words", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /auth/signup": {
        status: 422,
        body: { detail: "this password is among the most commonly used ones; choose another", code: "password_too_common" },
      },
    });
    renderPage(<SignUp />, "/signup");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "password1234");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Choose another password");
    expect(alert).toHaveTextContent("This password is among the most commonly used ones; choose another.");
  });

  it("says when sign-up is closed", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /auth/signup": { status: 403, body: { detail: "sign-up is closed on this server", code: "signup_closed" } },
    });
    renderPage(<SignUp />, "/signup");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "a long enough passphrase");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Sign-up is closed on this server");
  });

  it("sends a logged-in visitor to the dashboard", async () => {
    mockApi(loggedIn());
    renderPage(<SignUp />, "/signup");
    await waitFor(() => expect(screen.getByText("Overview page")).toBeInTheDocument());
  });
});
