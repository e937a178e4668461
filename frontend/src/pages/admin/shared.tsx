// What the operator pages share: their state in the query string, the body of a paged list with
// its pager, the cells of their tables, a debounced value, and a few figures formatted the same
// way on every admin page.
import { type ReactNode, useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Button } from "../../components/ui";
import { formatDateTime, formatInteger, formatRelative } from "../../lib/format";

/** Query keys of the admin pages all start with this, so one invalidation reaches them all. */
export const ADMIN_KEY = "admin";

/** `value`, once it has stopped changing for `delay` ms (a search box's text, say). */
export function useDebounced<T>(value: T, delay = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** The page's query string, and a way to change some of its parameters (null removes one) and
 *  keep the others; `replace` changes the current history entry instead of adding one. */
export function useQueryParams(): [URLSearchParams, (changes: Record<string, string | null>, replace?: boolean) => void] {
  const [params, setParams] = useSearchParams();
  function update(changes: Record<string, string | null>, replace = false) {
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) next.delete(key);
        else next.set(key, value);
      }
      return next;
    }, { replace });
  }
  return [params, update];
}

/** The page number in a `?page=` parameter: 1 for anything that is not a whole number ≥ 1. */
export function parsePage(raw: string | null): number {
  const page = Number.parseInt(raw ?? "1", 10);
  return Number.isSafeInteger(page) && page >= 1 ? page : 1;
}

/** "26–50 of 112": which items of the list this page shows. */
export function rangeLabel(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return `0 of ${formatInteger(total)}`;
  const first = Math.min(offset + 1, total);
  const last = Math.min(offset + shown, total);
  return `${formatInteger(first)}–${formatInteger(last)} of ${formatInteger(total)}`;
}

/** Previous / next through a list of `total` items, `pageSize` a page. */
export function Pager({
  page, total, pageSize, busy, label, onPage,
}: { page: number; total: number; pageSize: number; busy: boolean; label: string; onPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1 && page <= 1) return null;
  return (
    <nav className="admin-pager" aria-label={label}>
      <Button variant="secondary" onClick={() => onPage(page - 1)} disabled={page <= 1 || busy}>Previous</Button>
      <span className="muted small" aria-live="polite">Page {formatInteger(page)} of {formatInteger(pages)}</span>
      <Button variant="secondary" onClick={() => onPage(page + 1)} disabled={page >= pages || busy}>Next</Button>
    </nav>
  );
}

/** A cell of an admin table that becomes cards on phones: `label` is its column, shown beside
 *  it there; what it holds is stacked. */
export function Cell({ label, children }: { label: string; children: ReactNode }) {
  return (
    <td data-label={label}>
      <div className="admin-cell">{children}</div>
    </td>
  );
}

/** A cell with a moment in it: the date and time, and how long ago as its tooltip. */
export function TimeCell({ label, at }: { label: string; at: string }) {
  return (
    <td data-label={label}>
      <time className="admin-nowrap" dateTime={at} title={formatRelative(at)}>{formatDateTime(at)}</time>
    </td>
  );
}

/** What a paged list's query gives `PagedList`. */
type PageQuery<T> = {
  data: { data: T[]; total: number } | undefined; error: unknown; isError: boolean; isPending: boolean;
  isPlaceholderData: boolean; refetch: () => unknown;
};

/**
 * The body of a paged admin list: the error while there is nothing to show, `skeleton` while the
 * first page loads, `empty` when the page has no rows, else the rows (`children`) and the pager
 * under them; a refresh that fails keeps the rows and says so above them.
 */
export function PagedList<T>({
  query, skeleton, empty, children, ...pager
}: {
  query: PageQuery<T>; skeleton: ReactNode; empty: ReactNode; children: (rows: T[]) => ReactNode;
  page: number; pageSize: number; label: string; onPage: (page: number) => void;
}) {
  const data = query.data;
  const error = query.isError ? <ErrorNotice error={query.error} onRetry={() => void query.refetch()} /> : null;
  if (query.isError && !data) return error;
  if (query.isPending || !data) return skeleton;
  if (data.data.length === 0) return empty;
  return (
    <>
      {error}
      {children(data.data)}
      <Pager {...pager} total={data.total} busy={query.isPlaceholderData} />
    </>
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${formatInteger(bytes)} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "past_due" → "Past due". */
export function humanize(text: string): string {
  const words = text.replace(/[_.]+/g, " ").trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : text;
}

