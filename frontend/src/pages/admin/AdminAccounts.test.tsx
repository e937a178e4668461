import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useLocation } from "react-router-dom";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../../api/client";
import { answer, renderWithProviders } from "../../test/harness";
import {
  type Account, AdminAccounts, PAGE_SIZE, SEARCH_DELAY_MS, buildUpdate, draftOf, parseLimit,
  usageLabel,
} from "./AdminAccounts";

vi.mock("../../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/client")>();
  return { ...actual, api: { GET: vi.fn(), POST: vi.fn(), PATCH: vi.fn() } };
});

const GET = api.GET as unknown as Mock;
const PATCH = api.PATCH as unknown as Mock;

function account(fields: Partial<Account> = {}): Account {
  return {
    id: "acc_1",
    email: "ada@example.com",
    plan: "free",
    status: "active",
    char_limit: 10_000,
    seconds_limit: 600,
    char_limit_override: null,
    seconds_limit_override: null,
    chars_used: 1_234,
    audio_ms_used: 90_000,
    period_start: "2025-11-01T00:00:00Z",
    period_end: "2025-12-01T00:00:00Z",
    created_at: "2025-01-15T10:00:00Z",
    stripe_customer_id: null,
    stripe_subscription_id: null,
    subscription_status: null,
    subscribed_plan: null,
    payment_overdue_since: null,
    plan_ends_at: null,
    spend_cap_cents: null,
    ...fields,
  };
}

const PLANS = {
  plans: [
    { id: "free", name: "Free", price_cents: 0, currency: "eur", characters: 10_000, audio_seconds: 600, metered: false },
    { id: "pro", name: "Pro", price_cents: 2900, currency: "eur", characters: 1_000_000, audio_seconds: 60_000, metered: false },
  ],
};

const OPERATOR = { id: "acc_op", email: "op@example.com", email_verified: true, is_admin: true, plan: "pro" };

let accounts: Account[] = [];
let total: number | null = null;

function mockApi() {
  GET.mockImplementation((path: string, init?: { params?: { query?: Record<string, unknown>; path?: Record<string, string> } }) => {
    if (path === "/auth/session") return answer({ account: OPERATOR, csrf_token: "csrf" });
    if (path === "/v1/plans") return answer(PLANS);
    if (path === "/admin/api/accounts") {
      const query = init?.params?.query ?? {};
      const email = typeof query.email === "string" ? query.email : "";
      const offset = Number(query.offset ?? 0);
      const matching = accounts.filter((item) => item.email.includes(email));
      return answer({ data: matching.slice(offset, offset + PAGE_SIZE), total: total ?? matching.length, limit: PAGE_SIZE, offset });
    }
    if (path === "/admin/api/accounts/{account_id}") {
      const found = accounts.find((item) => item.id === init?.params?.path?.account_id);
      return found ? answer(found) : answer({ detail: "no account with id x", code: "account_not_found" }, 404);
    }
    throw new Error(`unexpected GET ${path}`);
  });
  PATCH.mockImplementation((_path: string, init: { params: { path: { account_id: string } }; body: Record<string, unknown> }) => {
    const id = init.params.path.account_id;
    accounts = accounts.map((item) => {
      if (item.id !== id) return item;
      const next = { ...item };
      if (typeof init.body.plan === "string") next.plan = init.body.plan;
      if (typeof init.body.status === "string") next.status = init.body.status;
      if (typeof init.body.char_limit === "number") next.char_limit_override = next.char_limit = init.body.char_limit;
      if (typeof init.body.seconds_limit === "number") next.seconds_limit_override = next.seconds_limit = init.body.seconds_limit;
      return next;
    });
    return answer(accounts.find((item) => item.id === id));
  });
}

function LocationProbe() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname + location.search}</output>;
}

function renderPage(entry = "/admin/accounts") {
  return renderWithProviders(<><AdminAccounts /><LocationProbe /></>, entry);
}

function accountCalls(): Record<string, unknown>[] {
  return GET.mock.calls
    .filter(([path]) => path === "/admin/api/accounts")
    .map(([, init]) => (init as { params: { query: Record<string, unknown> } }).params.query);
}

describe("limit rules", () => {
  it("reads a limit field against the account's own limit", () => {
    expect(parseLimit("", null)).toEqual({ unchanged: true });
    expect(parseLimit("50000", null)).toEqual({ value: 50_000 });
    expect(parseLimit(" 50,000 ", null)).toEqual({ value: 50_000 });
    expect(parseLimit("0", null)).toEqual({ value: 0 });
    expect(parseLimit("50000", 50_000)).toEqual({ unchanged: true });
    expect(parseLimit("-1", null)).toEqual({ error: "A whole number, 0 or more." });
    expect(parseLimit("1.5", null)).toEqual({ error: "A whole number, 0 or more." });
    expect(parseLimit("99999999999999999999", null)).toHaveProperty("error");
    // the server keeps an own limit once set: emptying the field cannot be saved
    expect(parseLimit("", 50_000)).toEqual({ value: null });
  });

  it("sends only what changed", () => {
    const item = account({ char_limit_override: 20_000 });
    expect(buildUpdate(item, draftOf(item))).toEqual({ body: {} });
    expect(buildUpdate(item, { ...draftOf(item), plan: "pro", secondsLimit: "900" })).toEqual({
      body: { plan: "pro", seconds_limit: 900 },
    });
    expect(buildUpdate(item, { ...draftOf(item), charLimit: "" })).toEqual({ body: { char_limit: null } });
    expect(buildUpdate(item, { ...draftOf(item), plan: "" })).toEqual({ errors: { plan: "Choose a plan." } });
  });

  it("shows usage against the limit, or no cap", () => {
    expect(usageLabel(1234, 10_000)).toBe("1,234 / 10,000");
    expect(usageLabel(1234, null)).toBe("1,234 / no cap");
  });
});

describe("AdminAccounts", () => {
  beforeEach(() => {
    accounts = [
      account({}),
      account({
        id: "acc_2", email: "bob@corp.test", plan: "pro", status: "suspended", char_limit: 1_000_000, chars_used: 990_000,
        created_at: "2025-02-01T10:00:00Z",
      }),
    ];
    total = null;
    mockApi();
  });
  afterEach(() => {
    vi.clearAllMocks();
  });

  it("lists the accounts with plan, status, usage and creation date", async () => {
    renderPage();
    const rows = await screen.findAllByTestId("account-row");
    expect(rows).toHaveLength(2);
    const first = within(rows[0] as HTMLElement);
    expect(first.getByText("ada@example.com")).toBeInTheDocument();
    expect(first.getByText("free")).toBeInTheDocument();
    expect(first.getByText("active")).toBeInTheDocument();
    expect(first.getByText("1,234 / 10,000")).toBeInTheDocument();
    expect(first.getByText("Jan 15, 2025")).toBeInTheDocument();
    expect(first.getByRole("button", { name: "Edit" })).toBeInTheDocument();
    const second = within(rows[1] as HTMLElement);
    expect(second.getByText("suspended")).toBeInTheDocument();
    expect(second.getByText("990,000 / 1,000,000")).toBeInTheDocument();
    expect(screen.getByText("1–2 of 2 accounts")).toBeInTheDocument();
  });

  it("searches by email once typing pauses", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findAllByTestId("account-row");
    const box = screen.getByLabelText("Search by email");
    await user.type(box, "bob");
    await waitFor(() => expect(screen.getAllByTestId("account-row")).toHaveLength(1), { timeout: SEARCH_DELAY_MS + 1500 });
    expect(screen.getByText("bob@corp.test")).toBeInTheDocument();
    const emails = accountCalls().map((query) => query.email);
    expect(emails).toContain("bob");
    // not one request per key
    expect(emails).not.toContain("b");
    expect(emails).not.toContain("bo");
    expect(screen.getByTestId("location")).toHaveTextContent("/admin/accounts?q=bob");
  });

  it("says when no account matches, and clears the search", async () => {
    const user = userEvent.setup();
    renderPage("/admin/accounts?q=nobody");
    expect(await screen.findByText("No account matches “nobody”")).toBeInTheDocument();
    expect(screen.getByLabelText("Search by email")).toHaveValue("nobody");
    await user.click(screen.getByRole("button", { name: "Clear the search" }));
    expect(await screen.findAllByTestId("account-row")).toHaveLength(2);
    expect(screen.getByLabelText("Search by email")).toHaveValue("");
  });

  it("pages through the list", async () => {
    const user = userEvent.setup();
    accounts = Array.from({ length: 30 }, (_, index) => account({ id: `acc_${index}`, email: `user${index}@example.com` }));
    renderPage();
    expect(await screen.findAllByTestId("account-row")).toHaveLength(PAGE_SIZE);
    expect(screen.getByText("Page 1 of 2")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(screen.getAllByTestId("account-row")).toHaveLength(5));
    expect(accountCalls().at(-1)).toEqual({ limit: PAGE_SIZE, offset: PAGE_SIZE });
    expect(screen.getByText("26–30 of 30 accounts")).toBeInTheDocument();
  });

  it("shows the server's error when the list cannot be loaded", async () => {
    GET.mockImplementation((path: string) =>
      path === "/admin/api/accounts"
        ? answer({ detail: "this account is not an operator's", code: "insufficient_scope" }, 403)
        : answer({ account: OPERATOR, csrf_token: "x" }),
    );
    renderPage();
    expect(await screen.findByText("this account is not an operator's")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("changes the plan and an own limit from the edit panel", async () => {
    const user = userEvent.setup();
    renderPage();
    const [row] = await screen.findAllByTestId("account-row");
    await user.click(within(row as HTMLElement).getByRole("button", { name: "Edit" }));
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    const plan = within(panel).getByLabelText("Plan");
    await waitFor(() => expect(plan).toBeEnabled());
    expect(within(plan).getAllByRole("option").map((option) => option.textContent)).toEqual([
      "Free", "Pro — €29 / month",
    ]);
    await user.selectOptions(plan, "pro");
    await user.type(within(panel).getByLabelText("Own character limit"), "50000");
    await user.click(within(panel).getByRole("button", { name: "Save changes" }));
    expect(PATCH).toHaveBeenCalledWith("/admin/api/accounts/{account_id}", {
      params: { path: { account_id: "acc_1" } },
      body: { plan: "pro", char_limit: 50_000 },
    });
    expect(await within(panel).findByText(/Changes saved/)).toBeInTheDocument();
    expect(within(panel).getByLabelText("Own character limit")).toHaveValue("50000");
    await waitFor(() => expect(within(row as HTMLElement).getByText("pro")).toBeInTheDocument());
  });

  it("sends null for an emptied own limit: back to the plan's", async () => {
    const user = userEvent.setup();
    accounts = [account({ char_limit_override: 20_000, char_limit: 20_000 })];
    renderPage("/admin/accounts?account=acc_1");
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    const field = await within(panel).findByLabelText("Own character limit");
    expect(field).toHaveValue("20000");
    await user.clear(field);
    await user.click(within(panel).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(PATCH).toHaveBeenCalled());
    expect(PATCH.mock.calls[0]?.[1]).toMatchObject({ body: { char_limit: null } });
  });

  it("suspends an account only after the dialog that names it is confirmed", async () => {
    const user = userEvent.setup();
    renderPage();
    const [row] = await screen.findAllByTestId("account-row");
    await user.click(within(row as HTMLElement).getByRole("button", { name: "Edit" }));
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    await user.click(within(panel).getByRole("button", { name: "Suspend" }));
    const confirm = screen.getByRole("dialog", { name: "Suspend this account?" });
    expect(within(confirm).getByText("ada@example.com")).toBeInTheDocument();
    expect(PATCH).not.toHaveBeenCalled();
    await user.click(within(confirm).getByRole("button", { name: "Suspend account" }));
    expect(PATCH).toHaveBeenCalledWith("/admin/api/accounts/{account_id}", {
      params: { path: { account_id: "acc_1" } },
      body: { status: "suspended" },
    });
    expect(await within(panel).findByText(/is suspended: its keys and logins are refused/)).toBeInTheDocument();
    await waitFor(() => expect(within(row as HTMLElement).getByText("suspended")).toBeInTheDocument());
    expect(within(panel).getByRole("button", { name: "Reactivate" })).toBeInTheDocument();
  });

  it("reactivates a suspended account", async () => {
    const user = userEvent.setup();
    renderPage("/admin/accounts?account=acc_2");
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    await user.click(await within(panel).findByRole("button", { name: "Reactivate" }));
    await user.click(within(screen.getByRole("dialog", { name: "Reactivate this account?" })).getByRole("button", { name: "Reactivate account" }));
    expect(PATCH).toHaveBeenCalledWith("/admin/api/accounts/{account_id}", {
      params: { path: { account_id: "acc_2" } },
      body: { status: "active" },
    });
    expect(await within(panel).findByText("bob@corp.test is active again.")).toBeInTheDocument();
  });

  it("does not let operators suspend their own account", async () => {
    accounts = [account({ id: OPERATOR.id, email: OPERATOR.email })];
    renderPage(`/admin/accounts?account=${OPERATOR.id}`);
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    await waitFor(() => expect(within(panel).getByRole("button", { name: "Suspend" })).toBeDisabled());
    expect(within(panel).getByText(/This is your own account/)).toBeInTheDocument();
  });

  it("shows what Stripe knows of the account", async () => {
    accounts = [account({
      plan: "pro",
      stripe_customer_id: "cus_123",
      stripe_subscription_id: "sub_456",
      subscription_status: "past_due",
      subscribed_plan: "pro",
      payment_overdue_since: "2025-11-20T08:00:00Z",
    })];
    renderPage("/admin/accounts?account=acc_1");
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    expect(await within(panel).findByText("cus_123")).toBeInTheDocument();
    expect(within(panel).getByText("sub_456")).toBeInTheDocument();
    expect(within(panel).getByText("past due")).toBeInTheDocument();
    expect(within(panel).getByText("Changes the plan here only: the Stripe subscription is not changed.")).toBeInTheDocument();
    const [row] = screen.getAllByTestId("account-row");
    expect(within(row as HTMLElement).getByText("payment overdue")).toBeInTheDocument();
  });

  it("says so when an account has no Stripe customer, and closes the panel", async () => {
    const user = userEvent.setup();
    renderPage("/admin/accounts?account=acc_1");
    const panel = await screen.findByRole("dialog", { name: "Edit account" });
    expect(await within(panel).findByText(/No Stripe customer/)).toBeInTheDocument();
    expect(within(panel).getByRole("link", { name: "Audit log of this account" })).toHaveAttribute("href", "/admin/audit?target=acc_1");
    await user.click(within(panel).getByRole("button", { name: "Close the account panel" }));
    expect(screen.queryByRole("dialog", { name: "Edit account" })).not.toBeInTheDocument();
    expect(screen.getByTestId("location")).toHaveTextContent(/^\/admin\/accounts$/);
  });

  it("shows the empty state of a server without accounts", async () => {
    accounts = [];
    renderPage();
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
  });
});
