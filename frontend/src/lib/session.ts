// Who is logged in: GET /auth/session through the session cookie. The CSRF token comes with the
// login answer, or with the session after a reload, and is kept in memory (api/client.ts).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, setCsrfToken, unwrap } from "../api/client";
import type { components } from "../api/schema";

export type Me = components["schemas"]["Me"];
type SessionState = components["schemas"]["SessionState"];

export const SESSION_KEY = ["session"] as const;

async function currentSession(): Promise<SessionState> {
  // One call, answered 200 for a visitor too: a logged-out visit logs no error.
  const state = await unwrap(api.GET("/auth/session"));
  setCsrfToken(state.csrf_token ?? null);
  return state;
}

const sessionQuery = { queryKey: SESSION_KEY, queryFn: currentSession, staleTime: 60_000 };

/** Who is logged in (null for a visitor). */
export function useSession() {
  return useQuery({ ...sessionQuery, select: (state: SessionState) => state.account ?? null });
}

/** "log" when this server has no mail service: mailed links are in its log, not an inbox. */
export function useMailDelivery() {
  return useQuery({ ...sessionQuery, select: (state: SessionState) => state.mail_delivery }).data;
}

export function useSessionActions() {
  const client = useQueryClient();
  const keep = (account: Me | null, csrf: string | null) =>
    client.setQueryData<SessionState>(SESSION_KEY, (state) => ({
      account,
      csrf_token: csrf,
      mail_delivery: state?.mail_delivery ?? "email",
    }));
  return {
    async logIn(email: string, password: string): Promise<Me> {
      const answer = await unwrap(api.POST("/auth/login", { body: { email, password } }));
      setCsrfToken(answer.csrf_token);
      keep(answer, answer.csrf_token);
      return answer;
    },
    async logOut(): Promise<void> {
      try {
        await unwrap(api.POST("/auth/logout"));
      } finally {
        setCsrfToken(null);
        keep(null, null);
        client.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
      }
    },
    refresh: () => client.invalidateQueries({ queryKey: SESSION_KEY }),
  };
}
