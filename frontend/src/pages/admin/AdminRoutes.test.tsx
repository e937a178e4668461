// The admin pages behind the app's frame: only operators see their links and their content.
import { screen, within } from "@testing-library/react";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { api } from "../../api/client";
import { answer, renderWithProviders } from "../../test/harness";

vi.mock("../../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/client")>();
  return { ...actual, api: { GET: vi.fn(), POST: vi.fn() } };
});

const GET = api.GET as unknown as Mock;

function me(isAdmin: boolean) {
  return { id: "acc_me", email: "me@example.com", email_verified: true, is_admin: isAdmin, plan: "free" };
}

let operator = false;

function renderApp(path: string) {
  return renderWithProviders(<App />, path);
}

describe("admin routes", () => {
  beforeEach(() => {
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
    GET.mockImplementation((path: string) => {
      if (path === "/auth/session") return answer({ account: me(operator), csrf_token: "csrf" });
      if (path === "/admin/api/queue") return answer({ counts: {}, oldest_queued_age_seconds: null, running_by_worker: {}, webhooks: {} });
      if (path === "/admin/api/stats") {
        return answer({
          from: "2025-11-01", to: "2025-11-30", days: 30, accounts: 1,
          totals: { requests: 0, characters: 0, audio_seconds: 0, audio_bytes: 0, cache_hits: 0, errors: 0 },
          top_voices: [], top_accounts: [], daily: [],
        });
      }
      if (path === "/admin/api/accounts") return answer({ data: [], total: 0, limit: 25, offset: 0 });
      return answer({ detail: "not found", code: "not_found" }, 404);
    });
  });
  afterEach(() => {
    vi.clearAllMocks();
    vi.unstubAllGlobals();
  });

  it("tells a customer that the admin pages are for operators, and hides their links", async () => {
    operator = false;
    renderApp("/admin/accounts");
    expect(await screen.findByText("This page is for operators")).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Dashboard" });
    expect(within(nav).queryByRole("link", { name: "Accounts" })).not.toBeInTheDocument();
    expect(within(nav).queryByText("Admin")).not.toBeInTheDocument();
    expect(GET).not.toHaveBeenCalledWith("/admin/api/accounts", expect.anything());
  });

  it("shows an operator the admin links and pages", async () => {
    operator = true;
    renderApp("/admin");
    expect(await screen.findByRole("heading", { name: "Admin overview" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Dashboard" });
    const group = within(nav).getByRole("group", { name: "Admin" });
    expect(within(group).getByRole("link", { name: "Admin overview" })).toHaveAttribute("href", "/admin");
    expect(within(group).getByRole("link", { name: "Accounts" })).toHaveAttribute("href", "/admin/accounts");
    expect(within(group).getByRole("link", { name: "Audit log" })).toHaveAttribute("href", "/admin/audit");
    // the overview link is current on /admin only, not on the pages below it
    expect(within(group).getByRole("link", { name: "Admin overview" })).toHaveClass("active");
    expect(within(group).getByRole("link", { name: "Accounts" })).not.toHaveClass("active");
  });

  it("opens the accounts page for an operator", async () => {
    operator = true;
    renderApp("/admin/accounts");
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
    expect(screen.getByLabelText("Search by email")).toBeInTheDocument();
  });
});
