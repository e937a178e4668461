// Stripe events as the server received them: type, state, attempts and what processing them did,
// newest first. Failed ones (retries used up) are the ones an operator has to look at.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Badge, Button, Card, EmptyState, Field, PageHeader, RefreshButton } from "../../components/ui";
import { formatDateTime, formatInteger } from "../../lib/format";
import { ADMIN_KEY, Cell, PagedList, TimeCell, parsePage, rangeLabel, useQueryParams } from "./shared";
import "./Admin.css";

export type BillingEvent = components["schemas"]["BillingEventOut"];

export const PAGE_SIZE = 50;
export const EVENT_STATUSES = ["pending", "processed", "failed"] as const;
type EventStatus = (typeof EVENT_STATUSES)[number];
type Tone = "neutral" | "success" | "warning" | "danger" | "info";

const STATUS: Record<EventStatus, { tone: Tone; label: string }> = {
  pending: { tone: "info", label: "Pending" },
  processed: { tone: "success", label: "Processed" },
  failed: { tone: "danger", label: "Failed" },
};

export function eventStatusBadge(status: string): { tone: Tone; label: string } {
  return (STATUS as Record<string, { tone: Tone; label: string }>)[status] ?? { tone: "neutral", label: status };
}

function parseStatus(value: string | null): EventStatus | null {
  return (EVENT_STATUSES as readonly string[]).includes(value ?? "") ? (value as EventStatus) : null;
}

export function AdminBilling() {
  const [params, update] = useQueryParams();
  const status = parseStatus(params.get("status"));
  const account = params.get("account")?.trim() || null;
  const page = parsePage(params.get("page"));
  const offset = (page - 1) * PAGE_SIZE;

  const events = useQuery({
    queryKey: [ADMIN_KEY, "billing-events", { status, account, offset, limit: PAGE_SIZE }],
    queryFn: () => unwrap(api.GET("/admin/api/billing/events", {
      params: {
        query: { limit: PAGE_SIZE, offset, ...(status ? { status } : {}), ...(account ? { account_id: account } : {}) },
      },
    })),
    placeholderData: keepPreviousData,
  });
  const data = events.data;
  const filtered = status !== null || account !== null;

  return (
    <div className="admin-page">
      <PageHeader
        title="Billing events"
        description="Stripe events received by this server, newest first, and what processing each one did."
        actions={<RefreshButton query={events} />}
      />
      <Card>
        <div className="admin-toolbar">
          <div className="admin-filter">
            <Field label="Status">
              {(id, describedBy) => (
                <select
                  id={id}
                  aria-describedby={describedBy}
                  value={status ?? ""}
                  onChange={(event) => update({ status: event.target.value || null, page: null })}
                >
                  <option value="">All events</option>
                  {EVENT_STATUSES.map((value) => <option key={value} value={value}>{STATUS[value].label}</option>)}
                </select>
              )}
            </Field>
            {account ? (
              <p className="small admin-filter-note">
                Account <span className="mono admin-break">{account}</span>{" "}
                <button type="button" className="link-button" onClick={() => update({ account: null, page: null })}>
                  Show every account
                </button>
              </p>
            ) : null}
          </div>
          <p className="muted small admin-count" aria-live="polite">
            {data ? `${rangeLabel(offset, data.data.length, data.total)} events` : ""}
          </p>
        </div>

        <PagedList
          query={events}
          page={page}
          pageSize={PAGE_SIZE}
          label="Billing event pages"
          onPage={(next) => update({ page: next > 1 ? String(next) : null })}
          skeleton={
            <div className="admin-table-skeleton" aria-busy="true" aria-label="Loading billing events">
              {Array.from({ length: 8 }, (_, index) => <div key={index} className="skeleton skeleton-line" aria-hidden="true" />)}
            </div>
          }
          empty={filtered || page > 1 ? (
            <EmptyState
              title={status ? `No ${STATUS[status].label.toLowerCase()} events` : "No events here"}
              action={<Button variant="secondary" onClick={() => update({ status: null, account: null, page: null })}>Show every event</Button>}
            >
              {status === "failed" ? <p>Good news: no Stripe event has used up its retries.</p> : null}
            </EmptyState>
          ) : (
            <EmptyState title="No Stripe events yet">
              <p>
                Events arrive when Stripe billing is set up and its webhook points at{" "}
                <code>/webhooks/stripe</code> on this server.
              </p>
            </EmptyState>
          )}
        >
          {(rows) => <EventsTable events={rows} />}
        </PagedList>
      </Card>
    </div>
  );
}

function EventsTable({ events }: { events: BillingEvent[] }) {
  return (
    <div className="table-wrap">
      <table className="admin-table admin-cards">
        <caption className="visually-hidden">Stripe events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Account</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => {
            const badge = eventStatusBadge(event.status);
            return (
              <tr key={event.id} data-testid="billing-event-row">
                <TimeCell label="Received" at={event.received_at} />
                <Cell label="Event">
                  <code className="admin-strong">{event.type}</code>
                  <span className="mono muted small admin-break">{event.id}</span>
                </Cell>
                <Cell label="Status">
                  <Badge tone={badge.tone}>{badge.label}</Badge>
                  <span className="muted small">
                    {formatInteger(event.attempts)} {event.attempts === 1 ? "attempt" : "attempts"}
                  </span>
                </Cell>
                <td data-label="Account">
                  {event.account_id ? (
                    <Link className="mono small admin-nowrap" to={`/admin/accounts?account=${encodeURIComponent(event.account_id)}`}>
                      {event.account_id}
                    </Link>
                  ) : <span className="muted">—</span>}
                </td>
                <Cell label="Outcome">
                  {event.outcome ? <span className="admin-break">{event.outcome}</span> : null}
                  {event.last_error ? <span className="admin-danger-text small admin-break">{event.last_error}</span> : null}
                  {!event.outcome && !event.last_error ? <span className="muted">—</span> : null}
                  {event.processed_at ? <span className="muted small">processed {formatDateTime(event.processed_at)}</span> : null}
                </Cell>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
