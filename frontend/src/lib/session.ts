// Who is logged in: GET /auth/session through the session cookie. The CSRF token comes with the
// login answer, or with the session after a reload, and is kept in memory (api/client.ts).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, setCsrfToken, unwrap } from "../api/client";
import type { components } from "../api/schema";

export type Me = components["schemas"]["Me"];

export const SESSION_KEY = ["session"] as const;

async function currentSession(): Promise<Me | null> {
  // One call, answered 200 for a visitor too: a logged-out visit logs no error.
  const state = await unwrap(api.GET("/auth/session"));
  setCsrfToken(state.csrf_token ?? null);
  return state.account ?? null;
}

export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: currentSession, staleTime: 60_000 });
}

export function useSessionActions() {
  const client = useQueryClient();
  return {
    async logIn(email: string, password: string): Promise<Me> {
      const answer = await unwrap(api.POST("/auth/login", { body: { email, password } }));
      setCsrfToken(answer.csrf_token);
      client.setQueryData(SESSION_KEY, answer);
      return answer;
    },
    async logOut(): Promise<void> {
      try {
        await unwrap(api.POST("/auth/logout"));
      } finally {
        setCsrfToken(null);
        client.setQueryData(SESSION_KEY, null);
        client.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
      }
    },
    refresh: () => client.invalidateQueries({ queryKey: SESSION_KEY }),
  };
}
