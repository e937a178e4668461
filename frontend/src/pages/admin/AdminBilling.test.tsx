import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../../api/client";
import { answer, renderWithProviders } from "../../test/harness";
import { AdminBilling, type BillingEvent, PAGE_SIZE, eventStatusBadge } from "./AdminBilling";

vi.mock("../../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/client")>();
  return { ...actual, api: { GET: vi.fn() } };
});

const GET = api.GET as unknown as Mock;

function event(fields: Partial<BillingEvent> = {}): BillingEvent {
  return {
    id: "evt_1",
    type: "customer.subscription.updated",
    stripe_created_at: "2025-11-20T09:00:00Z",
    received_at: "2025-11-20T09:00:01Z",
    status: "processed",
    attempts: 1,
    processed_at: "2025-11-20T09:00:02Z",
    account_id: "acc_1",
    outcome: "sub_1 active: plan free → pro",
    last_error: null,
    ...fields,
  };
}

let events: BillingEvent[] = [];

function renderPage(path = "/admin/billing") {
  return renderWithProviders(<AdminBilling />, path);
}

function lastQuery(): Record<string, unknown> {
  const calls = GET.mock.calls.filter(([path]) => path === "/admin/api/billing/events");
  return (calls.at(-1)?.[1] as { params: { query: Record<string, unknown> } }).params.query;
}

describe("AdminBilling", () => {
  beforeEach(() => {
    events = [
      event(),
      event({ id: "evt_2", type: "invoice.payment_failed", status: "failed", attempts: 5, outcome: null, last_error: "UnknownPrice: price_x", processed_at: null, account_id: null }),
    ];
    GET.mockImplementation((path: string, init: { params: { query: { status?: string; account_id?: string; offset?: number } } }) => {
      if (path !== "/admin/api/billing/events") throw new Error(`unexpected GET ${path}`);
      const { status, account_id: account, offset = 0 } = init.params.query;
      const matching = events.filter((item) => (!status || item.status === status) && (!account || item.account_id === account));
      return answer({ data: matching.slice(offset, offset + PAGE_SIZE), total: matching.length, limit: PAGE_SIZE, offset });
    });
  });
  afterEach(() => {
    vi.clearAllMocks();
  });

  it("gives each state a badge", () => {
    expect(eventStatusBadge("failed")).toEqual({ tone: "danger", label: "Failed" });
    expect(eventStatusBadge("weird")).toEqual({ tone: "neutral", label: "weird" });
  });

  it("lists events with type, state, attempts, account and outcome", async () => {
    renderPage();
    const rows = await screen.findAllByTestId("billing-event-row");
    expect(rows).toHaveLength(2);
    const first = within(rows[0] as HTMLElement);
    expect(first.getByText("customer.subscription.updated")).toBeInTheDocument();
    expect(first.getByText("Processed")).toBeInTheDocument();
    expect(first.getByText("1 attempt")).toBeInTheDocument();
    expect(first.getByRole("link", { name: "acc_1" })).toHaveAttribute("href", "/admin/accounts?account=acc_1");
    expect(first.getByText("sub_1 active: plan free → pro")).toBeInTheDocument();
    const second = within(rows[1] as HTMLElement);
    expect(second.getByText("Failed")).toBeInTheDocument();
    expect(second.getByText("5 attempts")).toBeInTheDocument();
    expect(second.getByText("UnknownPrice: price_x")).toBeInTheDocument();
  });

  it("filters by status", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findAllByTestId("billing-event-row");
    await user.selectOptions(screen.getByLabelText("Status"), "failed");
    await waitFor(() => expect(screen.getAllByTestId("billing-event-row")).toHaveLength(1));
    expect(lastQuery()).toEqual({ limit: PAGE_SIZE, offset: 0, status: "failed" });
  });

  it("shows one account's events when the address names it", async () => {
    const user = userEvent.setup();
    renderPage("/admin/billing?account=acc_1");
    expect(await screen.findAllByTestId("billing-event-row")).toHaveLength(1);
    expect(lastQuery()).toEqual({ limit: PAGE_SIZE, offset: 0, account_id: "acc_1" });
    await user.click(screen.getByRole("button", { name: "Show every account" }));
    await waitFor(() => expect(screen.getAllByTestId("billing-event-row")).toHaveLength(2));
  });

  it("says when a filter finds nothing", async () => {
    events = [event()];
    renderPage("/admin/billing?status=failed");
    expect(await screen.findByText("No failed events")).toBeInTheDocument();
  });

  it("says when no event has arrived yet", async () => {
    events = [];
    renderPage();
    expect(await screen.findByText("No Stripe events yet")).toBeInTheDocument();
  });
});
