import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../../api/client";
import { answer, renderWithProviders } from "../../test/harness";
import { type AuditEntry, AdminAudit, DETAIL_MAX, PAGE_SIZE, actionLabel, detailPairs, detailValue } from "./AdminAudit";

vi.mock("../../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/client")>();
  return { ...actual, api: { GET: vi.fn() } };
});

const GET = api.GET as unknown as Mock;

function entry(fields: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: 1,
    created_at: "2025-11-20T09:30:00Z",
    actor: "key_admin1",
    action: "account.update",
    target_type: "account",
    target_id: "acc_1",
    details: { plan: "pro", char_limit: 50000 },
    client_ip: "203.0.113.7",
    ...fields,
  };
}

let entries: AuditEntry[] = [];

function renderPage(path = "/admin/audit") {
  return renderWithProviders(<AdminAudit />, path);
}

function lastQuery(): Record<string, unknown> {
  const calls = GET.mock.calls.filter(([path]) => path === "/admin/api/audit");
  return (calls.at(-1)?.[1] as { params: { query: Record<string, unknown> } }).params.query;
}

describe("audit details", () => {
  it("reads every kind of value in a few words", () => {
    expect(detailValue("pro")).toBe("pro");
    expect(detailValue(50000)).toBe("50000");
    expect(detailValue(true)).toBe("true");
    expect(detailValue(null)).toBe("none");
    expect(detailValue(["tts", "jobs"])).toBe("tts, jobs");
    expect(detailValue([])).toBe("none");
    expect(detailValue({ a: 1 })).toBe('{"a":1}');
  });

  it("cuts long values short and keeps the whole as the tooltip", () => {
    const long = "x".repeat(DETAIL_MAX + 20);
    const [pair] = detailPairs({ note: long });
    expect(pair?.value).toHaveLength(DETAIL_MAX);
    expect(pair?.value.endsWith("…")).toBe(true);
    expect(pair?.full).toBe(long);
    expect(detailPairs({})).toEqual([]);
    expect(detailPairs(null)).toEqual([]);
  });

  it("names actions for people, and reads unknown ones sensibly", () => {
    expect(actionLabel("key.revoke")).toBe("Key revoked");
    expect(actionLabel("login_refused_suspended")).toBe("Login refused: suspended");
    expect(actionLabel("voice.custom_upload")).toBe("Voice custom upload");
  });
});

describe("AdminAudit", () => {
  beforeEach(() => {
    entries = [
      entry(),
      entry({ id: 2, action: "key.revoke", target_type: "key", target_id: "key_9", details: {}, actor: "cli", client_ip: null }),
    ];
    GET.mockImplementation((path: string, init: { params: { query: { target_id?: string; offset?: number } } }) => {
      if (path !== "/admin/api/audit") throw new Error(`unexpected GET ${path}`);
      const { target_id: target, offset = 0 } = init.params.query;
      const matching = target ? entries.filter((item) => item.target_id === target) : entries;
      return answer({ data: matching.slice(offset, offset + PAGE_SIZE), total: matching.length, limit: PAGE_SIZE, offset });
    });
  });
  afterEach(() => {
    vi.clearAllMocks();
  });

  it("lists entries with their action, target, details as key: value, and who made them", async () => {
    renderPage();
    const rows = await screen.findAllByTestId("audit-row");
    expect(rows).toHaveLength(2);
    const first = within(rows[0] as HTMLElement);
    expect(first.getByText("Account changed")).toBeInTheDocument();
    expect(first.getByText("account.update")).toBeInTheDocument();
    expect(first.getByRole("link", { name: "acc_1" })).toHaveAttribute("href", "/admin/accounts?account=acc_1");
    expect(first.getByText("plan:")).toBeInTheDocument();
    expect(first.getByText("pro")).toBeInTheDocument();
    expect(first.getByText("char_limit:")).toBeInTheDocument();
    expect(first.getByText("50000")).toBeInTheDocument();
    expect(first.getByText("key_admin1")).toBeInTheDocument();
    expect(first.getByText("203.0.113.7")).toBeInTheDocument();
    const second = within(rows[1] as HTMLElement);
    expect(second.getByText("Key revoked")).toBeInTheDocument();
    expect(second.getByText("key_9")).toBeInTheDocument();
    expect(second.getByText("—")).toBeInTheDocument();
    expect(screen.getByText("1–2 of 2 entries")).toBeInTheDocument();
  });

  it("filters by target ID, and clears the filter", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findAllByTestId("audit-row");
    await user.type(screen.getByLabelText("Filter by target ID"), "key_9");
    await user.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(1));
    expect(lastQuery()).toEqual({ limit: PAGE_SIZE, offset: 0, target_id: "key_9" });
    await user.click(screen.getByRole("button", { name: "Clear filter" }));
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(2));
    expect(screen.getByLabelText("Filter by target ID")).toHaveValue("");
  });

  it("narrows to one row's target from the row", async () => {
    const user = userEvent.setup();
    renderPage();
    const [row] = await screen.findAllByTestId("audit-row");
    await user.click(within(row as HTMLElement).getByRole("button", { name: "Only entries for acc_1" }));
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(1));
    expect(screen.getByLabelText("Filter by target ID")).toHaveValue("acc_1");
  });

  it("reads the target from the address, as the account panel links to it", async () => {
    renderPage("/admin/audit?target=acc_1");
    expect(await screen.findAllByTestId("audit-row")).toHaveLength(1);
    expect(lastQuery()).toEqual({ limit: PAGE_SIZE, offset: 0, target_id: "acc_1" });
  });

  it("pages through the log", async () => {
    const user = userEvent.setup();
    entries = Array.from({ length: PAGE_SIZE + 3 }, (_, index) => entry({ id: index + 1 }));
    renderPage();
    expect(await screen.findAllByTestId("audit-row")).toHaveLength(PAGE_SIZE);
    await user.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(3));
    expect(lastQuery()).toEqual({ limit: PAGE_SIZE, offset: PAGE_SIZE });
  });

  it("says when a target has no entries", async () => {
    renderPage("/admin/audit?target=acc_nobody");
    expect(await screen.findByText("Nothing recorded for this target")).toBeInTheDocument();
  });

  it("shows the server's error", async () => {
    GET.mockImplementation(() => answer({ detail: "your session has ended; log in again", code: "session_expired" }, 401));
    renderPage();
    expect(await screen.findByText("Please log in again")).toBeInTheDocument();
  });
});
