import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import type { components } from "../api/schema";
import { renderWithProviders } from "../test/harness";
import { Overview } from "./Overview";

type Quota = components["schemas"]["QuotaOut"];
type Summary = components["schemas"]["UsageSummary"];
type Page = components["schemas"]["Page_UsageEventOut_"];

const QUOTA: Quota = {
  plan: "starter",
  characters: { limit: 100_000, used: 12_345, remaining: 87_655 },
  seconds: { limit: 3_600, used: 754.4, remaining: 2_845.6 },
  key_characters: null,
  resets_at: "2030-01-01T00:00:00Z",
};

const SUMMARY: Summary = {
  from: "2029-12-01",
  to: "2029-12-30",
  days: 30,
  totals: { requests: 5, characters: 2_000, audio_seconds: 90, audio_bytes: 1_000, cache_hits: 1, errors: 1 },
  by_voice: [],
  by_language: [],
  by_status: [],
  // the server fills the days itself, but the page must not rely on it
  daily: [{ date: "2029-12-10", requests: 5, characters: 2_000, audio_seconds: 90, errors: 1 }],
};

const EVENT = {
  id: 1,
  created_at: "2029-12-10T10:00:00Z",
  request_id: "req_1",
  key_id: "key_1",
  method: "POST",
  endpoint: "/v1/tts",
  status_code: 200,
  voice: "aria",
  language: "en",
  characters: 1_500,
  audio_ms: 12_000,
  audio_bytes: 1_000,
  cache_hit: true,
  latency_ms: 300,
  client_ip: null,
  text_hash: null,
  outcome: "completed",
};

function answer(data: unknown, status = 200) {
  const ok = status < 400;
  return Promise.resolve({
    data: ok ? data : undefined,
    error: ok ? undefined : data,
    response: new Response(null, { status }),
  });
}

function mockGet(routes: Record<string, () => ReturnType<typeof answer>>) {
  return vi.spyOn(api, "GET").mockImplementation(((path: string) => {
    const route = routes[path];
    if (!route) throw new Error(`unexpected GET ${path}`);
    return route();
  }) as unknown as typeof api.GET);
}

function renderPage() {
  return renderWithProviders(<Overview />);
}

describe("Overview", () => {
  beforeEach(() => {
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  it("shows the plan and both allowances as meters, with the figures from the quota", async () => {
    const page: Page = { data: [EVENT], total: 42, limit: 10, offset: 0 };
    const get = mockGet({
      "/account/quota": () => answer(QUOTA),
      "/account/usage": () => answer(SUMMARY),
      "/account/usage/logs": () => answer(page),
    });
    renderPage();

    expect(await screen.findByTestId("plan-name")).toHaveTextContent("Starter");
    const characters = screen.getByRole("meter", { name: "Characters" });
    expect(characters).toHaveAttribute("aria-valuenow", "12345");
    expect(characters).toHaveAttribute("aria-valuemax", "100000");
    expect(screen.getByText("12,345 / 100,000 characters")).toBeInTheDocument();
    expect(screen.getByText("87,655 characters left")).toBeInTheDocument();
    const audio = screen.getByRole("meter", { name: "Audio" });
    expect(audio).toHaveAttribute("aria-valuemax", "3600");
    expect(screen.getByText("754 / 3,600 seconds")).toBeInTheDocument();
    expect(screen.getByText("2,846 seconds left")).toBeInTheDocument();
    expect(screen.getByText(/Allowance resets/)).toHaveTextContent("Jan 1, 2030");

    // asked for the last 30 days and the 10 latest requests
    expect(get).toHaveBeenCalledWith("/account/usage", { params: { query: { days: 30 } } });
    expect(get).toHaveBeenCalledWith("/account/usage/logs", { params: { query: { limit: 10 } } });

    // the chart has a bar slot for every day of the window, zero-filled
    expect(await screen.findByText(/2,000 characters in 30 days; busiest day Dec 10/)).toBeInTheDocument();

    const table = await screen.findByTestId("recent-requests");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(2);
    const cells = within(rows[1] as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent);
    expect(cells.slice(1)).toEqual(["POST/v1/tts", "aria", "1,500", "12 s", "200completed", "Hit"]);
    expect(screen.getByText("Latest 1 of 42")).toBeInTheDocument();
  });

  it("says there is no monthly cap for a plan without one", async () => {
    mockGet({
      "/account/quota": () => answer({
        ...QUOTA,
        plan: "pay_as_you_go",
        characters: { limit: null, used: 5_000, remaining: null },
        seconds: { limit: null, used: 30, remaining: null },
      }),
      "/account/usage": () => answer(SUMMARY),
      "/account/usage/logs": () => answer({ data: [EVENT], total: 1, limit: 10, offset: 0 }),
    });
    renderPage();
    expect(await screen.findByTestId("plan-name")).toHaveTextContent("Pay As You Go");
    expect(screen.getAllByText(/no monthly cap/i)).toHaveLength(2);
    expect(screen.getByText("5,000 characters")).toBeInTheDocument();
  });

  it("invites a new account to make its first request", async () => {
    mockGet({
      "/account/quota": () => answer({ ...QUOTA, characters: { limit: 10_000, used: 0, remaining: 10_000 } }),
      "/account/usage": () => answer({ ...SUMMARY, daily: [], totals: { ...SUMMARY.totals, requests: 0, characters: 0, audio_seconds: 0, cache_hits: 0, errors: 0 } }),
      "/account/usage/logs": () => answer({ data: [], total: 0, limit: 10, offset: 0 }),
    });
    renderPage();
    expect(await screen.findByText("Make your first request")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Try the playground" })).toHaveAttribute("href", "/playground");
    expect(screen.getByRole("link", { name: "Create an API key" })).toHaveAttribute("href", "/keys");
    expect(screen.queryByTestId("recent-requests")).not.toBeInTheDocument();
    expect(await screen.findByText(/No characters used from/)).toBeInTheDocument();
  });

  it("shows the server's error for a part that fails, and the rest still loads", async () => {
    mockGet({
      "/account/quota": () => answer({ detail: "the database is unavailable", code: "database_unavailable" }, 503),
      "/account/usage": () => answer(SUMMARY),
      "/account/usage/logs": () => answer({ data: [EVENT], total: 1, limit: 10, offset: 0 }),
    });
    renderPage();
    expect(await screen.findByText("the database is unavailable")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
    expect(await screen.findByTestId("recent-requests")).toBeInTheDocument();
  });
});
