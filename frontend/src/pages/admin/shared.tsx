// What the operator pages share: paging through a list, a debounced value, and a few figures
// formatted the same way on every admin page.
import { useEffect, useState } from "react";
import { Button } from "../../components/ui";
import { formatInteger } from "../../lib/format";

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


/** A table of grey cells the size of the one that is loading, so nothing jumps when it arrives. */
export function TableSkeleton({ columns, rows, label }: { columns: readonly string[]; rows: number; label: string }) {
  return (
    <div className="table-wrap" aria-busy="true" aria-label={label}>
      <table className="admin-table admin-cards">
        <thead>
          <tr>{columns.map((column) => <th key={column} scope="col">{column}</th>)}</tr>
        </thead>
        <tbody>
          {Array.from({ length: rows }, (_, row) => (
            <tr key={row}>
              {columns.map((column) => (
                <td key={column} data-label={column}>
                  <div className="skeleton skeleton-line admin-skeleton-cell" aria-hidden="true" />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
