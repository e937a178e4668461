// Test support for the page tests (imported by *.test.tsx only, never by the app): what a mocked
// typed `api` client answers, and a render inside the providers every page needs.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { type InitialEntry, MemoryRouter } from "react-router-dom";

/** What `api.GET/POST/…` resolves to: `data` for a 2xx status, `error` for any other. */
export function answer(data: unknown, status = 200) {
  const ok = status >= 200 && status < 300;
  return Promise.resolve({
    data: ok ? data : undefined,
    error: ok ? undefined : data,
    response: { ok, status, headers: new Headers() } as Response,
  });
}

/** Renders `ui` at `entry` ("/" unless told), under a fresh query client that never retries. */
export function renderWithProviders(ui: ReactNode, entry: InitialEntry = "/") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[entry]}>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}
