// The audit trail: who did what to which account or key, newest first, with what the change
// carried. Paged, and narrowed to one target (an account or key id) on request.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Button, Card, EmptyState, Field, PageHeader, RefreshButton, TableSkeleton } from "../../components/ui";
import { ADMIN_KEY, Cell, PagedList, TimeCell, humanize, parsePage, rangeLabel, useQueryParams } from "./shared";
import "./Admin.css";

export type AuditEntry = components["schemas"]["AuditOut"];

export const PAGE_SIZE = 50;
/** A detail value longer than this is cut short in the table (the whole of it is its tooltip). */
export const DETAIL_MAX = 80;

const ACTIONS: Record<string, string> = {
  "account.create": "Account created",
  "account.update": "Account changed",
  "account.delete": "Account deleted",
  "account.set_password": "Password set by an operator",
  "account.operator_granted": "Operator rights given",
  "account.operator_revoked": "Operator rights taken away",
  "key.create": "Key created",
  "key.revoke": "Key revoked",
  "webhook.test": "Test webhook sent",
  signup: "Signed up",
  signup_existing_address: "Sign-up with a taken address",
  email_verified: "Email address confirmed",
  email_changed: "Email address changed",
  login: "Logged in",
  login_failed: "Login failed",
  login_refused_suspended: "Login refused: suspended",
  password_reset: "Password reset",
  password_changed: "Password changed",
  checkout_started: "Checkout started",
  spend_cap_set: "Spend cap set",
  subscription_changed: "Subscription changed",
};

/** An action as a person reads it; an action this page does not know still reads sensibly. */
export function actionLabel(action: string): string {
  return ACTIONS[action] ?? humanize(action);
}

/** One detail value in a few words: text as it is, lists joined, objects as compact JSON. */
export function detailValue(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "string") return value === "" ? "“”" : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.length ? value.map((item) => (typeof item === "object" && item !== null ? JSON.stringify(item) : detailValue(item))).join(", ") : "none";
  return JSON.stringify(value);
}

/** The details of an entry as key: value pairs, in the order the server gave them. */
export function detailPairs(details: Record<string, unknown> | null | undefined): { key: string; value: string; full: string }[] {
  return Object.entries(details ?? {}).map(([key, raw]) => {
    const full = detailValue(raw);
    const value = full.length > DETAIL_MAX ? `${full.slice(0, DETAIL_MAX - 1)}…` : full;
    return { key, value, full };
  });
}

export function AdminAudit() {
  const [params, update] = useQueryParams();
  const target = (params.get("target") ?? "").trim();
  const page = parsePage(params.get("page"));
  const offset = (page - 1) * PAGE_SIZE;
  const [draft, setDraft] = useState(target);
  const hintId = useId();

  useEffect(() => setDraft(target), [target]);

  const audit = useQuery({
    queryKey: [ADMIN_KEY, "audit", { target, offset, limit: PAGE_SIZE }],
    queryFn: () => unwrap(api.GET("/admin/api/audit", {
      params: { query: { limit: PAGE_SIZE, offset, ...(target ? { target_id: target } : {}) } },
    })),
    placeholderData: keepPreviousData,
  });
  const data = audit.data;

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    update({ target: draft.trim() || null, page: null });
  }

  return (
    <div className="admin-page">
      <PageHeader
        title="Audit log"
        description="Changes to accounts and keys, logins and billing events, newest first."
        actions={<RefreshButton query={audit} />}
      />
      <Card>
        <div className="admin-toolbar">
          <form className="admin-filter" onSubmit={submit} role="search">
            <Field label="Filter by target ID">
              {(id) => (
                <input
                  id={id}
                  aria-describedby={hintId}
                  value={draft}
                  onChange={(event) => setDraft(event.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                  className="mono"
                  maxLength={200}
                />
              )}
            </Field>
            <div className="admin-filter-actions">
              <Button type="submit" variant="secondary">Filter</Button>
              {target ? (
                <Button variant="ghost" onClick={() => update({ target: null, page: null })}>Clear filter</Button>
              ) : null}
            </div>
            <p id={hintId} className="hint admin-filter-hint">An account or key ID, exactly as shown: the log lists what was done to it.</p>
          </form>
          <p className="muted small admin-count" aria-live="polite">
            {data ? `${rangeLabel(offset, data.data.length, data.total)} entries${target ? " for this target" : ""}` : ""}
          </p>
        </div>

        <PagedList
          query={audit}
          page={page}
          pageSize={PAGE_SIZE}
          label="Audit log pages"
          onPage={(next) => update({ page: next > 1 ? String(next) : null })}
          skeleton={<AuditSkeleton />}
          empty={target ? (
            <EmptyState
              title="Nothing recorded for this target"
              action={<Button variant="secondary" onClick={() => update({ target: null, page: null })}>Show every entry</Button>}
            >
              <p>No entry names <code className="admin-break">{target}</code>. Check the ID: it must match exactly.</p>
            </EmptyState>
          ) : page > 1 ? (
            <EmptyState
              title="Nothing on this page"
              action={<Button variant="secondary" onClick={() => update({ page: null })}>Back to the first page</Button>}
            />
          ) : (
            <EmptyState title="Nothing recorded yet">
              <p>Sign-ups, logins, and every change an operator makes to an account or key are recorded here.</p>
            </EmptyState>
          )}
        >
          {(entries) => (
            <AuditTable entries={entries} filtered={Boolean(target)} onTarget={(id) => update({ target: id, page: null })} />
          )}
        </PagedList>
      </Card>
    </div>
  );
}

const COLUMNS = ["When", "Action", "Target", "Details", "By"] as const;

function AuditSkeleton() {
  return (
    <TableSkeleton
      columns={COLUMNS}
      rows={8}
      label="Loading the audit log"
      tableClassName="admin-table admin-cards"
      cellClassName="admin-skeleton-cell"
    />
  );
}

function AuditTable({ entries, filtered, onTarget }: { entries: AuditEntry[]; filtered: boolean; onTarget: (id: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="admin-table admin-cards admin-audit">
        <caption className="visually-hidden">Audit log, newest first</caption>
        <thead>
          <tr>{COLUMNS.map((column) => <th key={column} scope="col">{column}</th>)}</tr>
        </thead>
        <tbody>
          {entries.map((entry) => {
            const pairs = detailPairs(entry.details);
            return (
              <tr key={entry.id} data-testid="audit-row">
                <TimeCell label="When" at={entry.created_at} />
                <Cell label="Action">
                  <span className="admin-strong">{actionLabel(entry.action)}</span>
                  <code className="muted small">{entry.action}</code>
                </Cell>
                <Cell label="Target">
                  <span className="muted small">{entry.target_type}</span>
                  {entry.target_type === "account" && entry.target_id !== "-" ? (
                    <Link className="mono small admin-break" to={`/admin/accounts?account=${encodeURIComponent(entry.target_id)}`}>
                      {entry.target_id}
                    </Link>
                  ) : (
                    <span className="mono small admin-break">{entry.target_id}</span>
                  )}
                  {!filtered && entry.target_id !== "-" ? (
                    <button
                      type="button"
                      className="link-button small"
                      onClick={() => onTarget(entry.target_id)}
                      aria-label={`Only entries for ${entry.target_id}`}
                    >
                      Only this target
                    </button>
                  ) : null}
                </Cell>
                <td data-label="Details">
                  {pairs.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    <dl className="admin-details">
                      {pairs.map((pair) => (
                        <div key={pair.key}>
                          <dt>{pair.key}:</dt>{" "}
                          <dd title={pair.full === pair.value ? undefined : pair.full}>{pair.value}</dd>
                        </div>
                      ))}
                    </dl>
                  )}
                </td>
                <Cell label="By">
                  <span className="mono small admin-break">{entry.actor}</span>
                  {entry.client_ip ? <span className="muted small mono">{entry.client_ip}</span> : null}
                </Cell>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
