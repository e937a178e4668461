// Test support for the public pages, PlanCards and Billing (imported by their *.test.tsx only,
// never by the app): a fake server behind the typed `api` client, and a render with the
// providers and routes the pages expect.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { type ReactElement, StrictMode } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import { vi } from "vitest";
import { api } from "../api/client";
import type { Plan } from "./PlanCards";

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
export type Call = { method: string; path: string; body: unknown };
type Handler = Reply | ((body: unknown) => Reply | Promise<Reply>);

function answer({ status, body, headers }: Reply) {
  const response = new Response(body === undefined || status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
  return status < 400 ? { data: body, response } : { error: body, response };
}

/** Answers `api.GET/POST/PUT/DELETE` from `routes` ("POST /auth/signup": reply); anything else
 *  is a 404. Returns the calls made, in order. */
export function mockApi(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  for (const method of ["GET", "POST", "PUT", "DELETE"] as const) {
    vi.spyOn(api, method).mockImplementation((async (path: string, init?: { body?: unknown }) => {
      calls.push({ method, path, body: init?.body });
      const handler = routes[`${method} ${path}`];
      if (!handler) return answer({ status: 404, body: { detail: `no route ${path}`, code: "not_found" } });
      return answer(typeof handler === "function" ? await handler(init?.body) : handler);
    }) as never);
  }
  return calls;
}

export const LOGGED_OUT: Record<string, Reply> = {
  "GET /auth/session": { status: 200, body: { account: null, csrf_token: null } },
};

export function loggedIn(overrides: Partial<{ email: string; plan: string; email_verified: boolean }> = {}): Record<string, Reply> {
  return {
    "GET /auth/session": {
      status: 200,
      body: {
        account: { id: "acc_1", email: "ada@example.com", plan: "free", email_verified: true, ...overrides },
        csrf_token: "csrf",
      },
    },
  };
}

export const PLANS: Plan[] = [
  { id: "free", name: "Free", price_cents: 0, currency: "eur", characters: 10_000, audio_seconds: 667, metered: false },
  { id: "starter", name: "Starter", price_cents: 400, currency: "eur", characters: 100_000, audio_seconds: 6667, metered: false },
  { id: "pro", name: "Pro", price_cents: 1200, currency: "eur", characters: 500_000, audio_seconds: 33334, metered: false },
  { id: "payg", name: "Pay-as-you-go", price_cents: 300, currency: "eur", characters: null, audio_seconds: null, metered: true },
];

export const PLANS_ROUTE: Record<string, Reply> = { "GET /v1/plans": { status: 200, body: { plans: PLANS } } };

/** Shows where the app went, for assertions on navigation. */
function Where() {
  const location = useLocation();
  return <p data-testid="location">{location.pathname + location.search}</p>;
}

/** Renders `ui` at `path` (StrictMode, a fresh query client, no retries); other paths show
 *  only where the app went. */
export function renderPage(ui: ReactElement, path = "/") {
  const pattern = path.split("?")[0] ?? "/";
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false, staleTime: Infinity }, mutations: { retry: false } },
  });
  return {
    client,
    ...render(
      <StrictMode>
        <QueryClientProvider client={client}>
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path={pattern} element={<>{ui}<Where /></>} />
              <Route path="/overview" element={<><h1>Overview page</h1><Where /></>} />
              <Route path="*" element={<Where />} />
            </Routes>
          </MemoryRouter>
        </QueryClientProvider>
      </StrictMode>,
    ),
  };
}
