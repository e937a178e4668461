// The typed API client: paths and bodies come from the server's OpenAPI schema (schema.d.ts,
// made by `npm run gen:api`). The session lives in an HttpOnly cookie the page never sees; the
// CSRF token that state-changing requests echo is kept in memory only, never in storage.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The header a state-changing `fetch` made by hand (audio streams) must carry. */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const withCsrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set("X-CSRF-Token", csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(withCsrf);

/** What every Vocalis error carries ({"detail", "code"}), plus the rest of its body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: Record<string, unknown>;
  readonly retryAfter: number | null;

  constructor(status: number, body: unknown, retryAfter: string | null = null) {
    const record = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const detail = typeof record.detail === "string" ? record.detail : `request failed (${status})`;
    super(detail);
    this.status = status;
    this.code = typeof record.code === "string" ? record.code : "error";
    this.body = record;
    this.retryAfter = retryAfter !== null && retryAfter !== "" ? Number(retryAfter) : null;
  }
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an `ApiError` thrown with the server's own message. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw new ApiError(response.status, error, response.headers.get("Retry-After"));
  }
  return data as T;
}
