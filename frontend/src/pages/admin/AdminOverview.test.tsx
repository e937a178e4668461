import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../../api/client";
import type { components } from "../../api/schema";
import { answer, renderWithProviders } from "../../test/harness";
import { AdminOverview, QUEUE_SLOW_SECONDS, queueHealth } from "./AdminOverview";

vi.mock("../../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/client")>();
  return { ...actual, api: { GET: vi.fn() } };
});

const GET = api.GET as unknown as Mock;

type QueueStats = components["schemas"]["QueueStats"];
type PlatformStats = components["schemas"]["PlatformStats"];

function queue(fields: Partial<QueueStats> = {}): QueueStats {
  return {
    counts: { queued: 3, running: 2, succeeded: 1_200, failed: 4, canceled: 1 },
    oldest_queued_age_seconds: 42,
    running_by_worker: { "worker-a:1234": 2 },
    webhooks: { succeeded: 40, failed: 2 },
    ...fields,
  };
}

function stats(fields: Partial<PlatformStats> = {}): PlatformStats {
  const empty = { requests: 0, characters: 0, audio_seconds: 0, audio_bytes: 0, cache_hits: 0, errors: 0 };
  return {
    from: "2025-11-01",
    to: "2025-11-30",
    days: 30,
    accounts: 57,
    totals: { requests: 1_000, characters: 250_000, audio_seconds: 5_400, audio_bytes: 3 * 1024 * 1024, cache_hits: 250, errors: 10 },
    top_voices: [{ ...empty, voice: "af_heart", requests: 600, characters: 150_000, audio_seconds: 3_000 }],
    top_accounts: [{ ...empty, account_id: "acc_1", email: "ada@example.com", requests: 800, characters: 200_000, audio_seconds: 4_000 }],
    daily: [{ date: "2025-11-29", requests: 10, characters: 2_000, audio_seconds: 60, errors: 0 }],
    ...fields,
  };
}

let queueAnswer: () => ReturnType<typeof answer>;
let statsAnswer: (days: number) => ReturnType<typeof answer>;

function renderPage() {
  return renderWithProviders(<AdminOverview />, "/admin");
}

describe("queue health", () => {
  it("is calm when nothing waits", () => {
    expect(queueHealth(queue({ counts: { queued: 0 }, oldest_queued_age_seconds: null })).tone).toBe("success");
  });
  it("warns when the oldest job has waited too long", () => {
    expect(queueHealth(queue({ oldest_queued_age_seconds: QUEUE_SLOW_SECONDS + 1 })).tone).toBe("warning");
  });
  it("alarms when jobs wait and no worker runs any", () => {
    const health = queueHealth(queue({ oldest_queued_age_seconds: QUEUE_SLOW_SECONDS * 2, running_by_worker: {} }));
    expect(health.tone).toBe("danger");
    expect(health.text).toMatch(/no worker is running a job/);
  });
});

describe("AdminOverview", () => {
  beforeEach(() => {
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
    queueAnswer = () => answer(queue());
    statsAnswer = (days) => answer(stats({ days }));
    GET.mockImplementation((path: string, init?: { params?: { query?: { days?: number } } }) => {
      if (path === "/admin/api/queue") return queueAnswer();
      if (path === "/admin/api/stats") return statsAnswer(init?.params?.query?.days ?? 30);
      throw new Error(`unexpected GET ${path}`);
    });
  });
  afterEach(() => {
    vi.clearAllMocks();
    vi.unstubAllGlobals();
  });

  it("shows the platform totals, the chart and the busiest accounts and voices", async () => {
    renderPage();
    const totals = await screen.findByTestId("platform-totals");
    expect(within(totals).getByText("57")).toBeInTheDocument();
    expect(within(totals).getByText("1,000")).toBeInTheDocument();
    expect(within(totals).getByText("10 failed (1.0%)")).toBeInTheDocument();
    expect(within(totals).getByText("250,000")).toBeInTheDocument();
    expect(within(totals).getByText("1 h 30 min")).toBeInTheDocument();
    expect(within(totals).getByText("3.0 MB")).toBeInTheDocument();
    expect(within(totals).getByText("25% of requests")).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Characters" })).toHaveAttribute("aria-selected", "true");
    const top = screen.getByTestId("top-accounts");
    expect(within(top).getByRole("link", { name: "ada@example.com" })).toHaveAttribute(
      "href", "/admin/accounts?account=acc_1&q=ada%40example.com",
    );
    expect(within(screen.getByTestId("top-voices")).getByText("af_heart")).toBeInTheDocument();
  });

  it("shows the queue: jobs by status, the oldest queued age and the workers", async () => {
    renderPage();
    const counts = await screen.findByTestId("queue-counts");
    expect(within(counts).getByText("Queued").parentElement).toHaveTextContent("3oldest 42 s");
    expect(within(counts).getByText("Failed").parentElement).toHaveTextContent("4");
    expect(within(counts).getByText("Succeeded").parentElement).toHaveTextContent("1,200");
    const [worker] = screen.getAllByTestId("worker-row");
    expect(worker).toHaveTextContent("worker-a:1234");
    expect(worker).toHaveTextContent("2");
    expect(screen.getByText("3 queued; the oldest has waited 42 s.")).toBeInTheDocument();
    expect(screen.getByText("failed")).toBeInTheDocument();
  });

  it("asks for another period when one is chosen", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findByTestId("platform-totals");
    await user.selectOptions(screen.getByLabelText("Period"), "7");
    await waitFor(() => expect(screen.getByRole("heading", { name: "Usage, last 7 days" })).toBeInTheDocument());
    expect(GET).toHaveBeenCalledWith("/admin/api/stats", { params: { query: { days: 7 } } });
  });

  it("keeps the queue when the statistics fail, and the other way round", async () => {
    statsAnswer = () => answer({ detail: "the database is not answering", code: "database_unavailable" }, 503);
    renderPage();
    expect(await screen.findByText("the database is not answering")).toBeInTheDocument();
    expect(await screen.findByTestId("queue-counts")).toBeInTheDocument();
  });

  it("says when no worker is running anything and jobs are piling up", async () => {
    queueAnswer = () => answer(queue({ running_by_worker: {}, counts: { queued: 9, running: 0 }, oldest_queued_age_seconds: 900 }));
    renderPage();
    expect(await screen.findByText("No worker is running a job right now.")).toBeInTheDocument();
    expect(screen.getByText(/check that the worker processes are up/)).toBeInTheDocument();
  });

  it("shows empty tables on a quiet server", async () => {
    statsAnswer = () => answer(stats({ top_accounts: [], top_voices: [], daily: [] }));
    queueAnswer = () => answer(queue({ counts: {}, oldest_queued_age_seconds: null, running_by_worker: {}, webhooks: {} }));
    renderPage();
    expect(await screen.findAllByText("No usage yet")).toHaveLength(2);
    expect(await screen.findByText("Nothing is waiting: every job has been picked up.")).toBeInTheDocument();
    expect(screen.getByText("No webhook deliveries yet.")).toBeInTheDocument();
  });
});
