// An error as a person should read it: the server's own words, and for a quota refusal the
// figures and when the allowance resets — never a raw status code alone.
import { ApiError } from "../api/client";
import { formatDateTime, formatInteger, formatRelative } from "../lib/format";

type Allowance = { limit: number | null; used: number; remaining: number | null };

export function describeError(error: unknown): { title: string; detail: string; lines: string[] } {
  if (!(error instanceof ApiError)) {
    return {
      title: "Something went wrong",
      detail: "The server could not be reached. Check your connection and try again.",
      lines: [],
    };
  }
  if (error.code === "quota_exceeded") {
    const quota = (error.body.quota ?? {}) as Record<string, Allowance | undefined>;
    const resetsAt = typeof error.body.resets_at === "string" ? error.body.resets_at : null;
    const lines: string[] = [];
    const characters = quota.characters;
    if (characters && characters.limit !== null) {
      lines.push(`Characters: ${formatInteger(characters.used)} of ${formatInteger(characters.limit)} used, ${formatInteger(characters.remaining ?? 0)} left`);
    }
    const seconds = quota.seconds;
    if (seconds && seconds.limit !== null) {
      lines.push(`Audio: ${formatInteger(seconds.used)} of ${formatInteger(seconds.limit)} seconds used`);
    }
    if (resetsAt) lines.push(`Resets ${formatRelative(resetsAt)} (${formatDateTime(resetsAt)})`);
    return { title: "Monthly allowance used up", detail: error.message, lines };
  }
  if (error.code === "rate_limited") {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
    return { title: "Too many requests", detail: `${error.message}.${wait}`, lines: [] };
  }
  if (error.status === 401) {
    return { title: "Please log in again", detail: error.message, lines: [] };
  }
  return { title: "That did not work", detail: error.message, lines: [] };
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, detail, lines } = describeError(error);
  return (
    <div className="notice notice-error" role="alert">
      <p className="notice-title">{title}</p>
      <p>{detail}</p>
      {lines.length ? (
        <ul className="notice-lines">
          {lines.map((line) => <li key={line}>{line}</li>)}
        </ul>
      ) : null}
      {onRetry ? <button type="button" className="link-button" onClick={onRetry}>Try again</button> : null}
    </div>
  );
}
