// The operator's home: the job queue right now (refreshed every few seconds), and usage across
// every account over the chosen days: totals, a daily chart, the busiest accounts and voices.
// The queue and the statistics load (and fail) on their own.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type ReactNode, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { ErrorNotice } from "../../components/ErrorNotice";
import { UsageChart, UsageHeadings, fillDays } from "../../components/UsageChart";
import { Badge, Button, Card, EmptyState, Field, PageHeader, Skeleton } from "../../components/ui";
import { formatInteger, formatSeconds } from "../../lib/format";
import { ADMIN_KEY, formatBytes, humanize } from "./shared";
// The usage chart's styles live with the Overview page that first showed it.
import "../Overview.css";
import "./Admin.css";

type PlatformStats = components["schemas"]["PlatformStats"];
type QueueStats = components["schemas"]["QueueStats"];
type Tone = "neutral" | "success" | "warning" | "danger" | "info";

export const PERIODS = [7, 30, 90] as const;
export const QUEUE_INTERVAL_MS = 5_000;
/** A queued job older than this means the workers are not keeping up. */
export const QUEUE_SLOW_SECONDS = 300;
const CHART_HEIGHT = 260;

const JOB_STATUSES: { status: string; label: string; tone: Tone }[] = [
  { status: "queued", label: "Queued", tone: "neutral" },
  { status: "running", label: "Running", tone: "info" },
  { status: "succeeded", label: "Succeeded", tone: "success" },
  { status: "failed", label: "Failed", tone: "danger" },
  { status: "canceled", label: "Canceled", tone: "warning" },
];

const DELIVERY_TONE: Record<string, Tone> = {
  pending: "neutral", delivering: "info", succeeded: "success", failed: "danger", abandoned: "warning",
};

/** How the queue is doing, in a word and a sentence, for the notice above its figures. */
export function queueHealth(queue: QueueStats): { tone: "success" | "warning" | "danger"; text: string } {
  const queued = queue.counts.queued ?? 0;
  const workers = Object.keys(queue.running_by_worker).length;
  const age = queue.oldest_queued_age_seconds;
  if (queued === 0) return { tone: "success", text: "Nothing is waiting: every job has been picked up." };
  if (age !== null && age >= QUEUE_SLOW_SECONDS && workers === 0) {
    return {
      tone: "danger",
      text: `${formatInteger(queued)} queued, the oldest for ${formatSeconds(age)}, and no worker is running a job: check that the worker processes are up.`,
    };
  }
  if (age !== null && age >= QUEUE_SLOW_SECONDS) {
    return {
      tone: "warning",
      text: `The oldest queued job has waited ${formatSeconds(age)}: the workers are not keeping up.`,
    };
  }
  return { tone: "success", text: `${formatInteger(queued)} queued; the oldest has waited ${age === null ? "a moment" : formatSeconds(age)}.` };
}

export function AdminOverview() {
  const [days, setDays] = useState<number>(30);
  const stats = useQuery({
    queryKey: [ADMIN_KEY, "stats", days],
    queryFn: () => unwrap(api.GET("/admin/api/stats", { params: { query: { days } } })),
    placeholderData: keepPreviousData,
  });
  const queue = useQuery({
    queryKey: [ADMIN_KEY, "queue"],
    queryFn: () => unwrap(api.GET("/admin/api/queue")),
    refetchInterval: QUEUE_INTERVAL_MS,
  });

  return (
    <div className="admin-page">
      <PageHeader
        title="Admin overview"
        description="The job queue right now, and usage across every account on this server."
        actions={
          <div className="admin-header-controls">
            <Field label="Period">
              {(id, describedBy) => (
                <select id={id} aria-describedby={describedBy} value={days} onChange={(event) => setDays(Number(event.target.value))}>
                  {PERIODS.map((value) => <option key={value} value={value}>Last {value} days</option>)}
                </select>
              )}
            </Field>
            <Button
              variant="secondary"
              onClick={() => {
                void stats.refetch();
                void queue.refetch();
              }}
              busy={(stats.isFetching && !stats.isPending) || (queue.isFetching && !queue.isPending)}
            >
              Refresh
            </Button>
          </div>
        }
      />
      <QueueCard query={queue} />
      <StatsCards query={stats} days={days} />
    </div>
  );
}

type QueryState<T> = {
  data: T | undefined; error: unknown; isPending: boolean; isError: boolean; isPlaceholderData?: boolean; refetch: () => unknown;
};

function Stat({ label, value, sub, tone }: { label: string; value: ReactNode; sub?: ReactNode; tone?: "warning" | "danger" }) {
  return (
    <div className={`admin-stat ${tone ? `admin-stat-${tone}` : ""}`}>
      <p className="admin-stat-label">{label}</p>
      <p className="stat">{value}</p>
      {sub ? <p className="admin-stat-sub">{sub}</p> : null}
    </div>
  );
}

function QueueCard({ query }: { query: QueryState<QueueStats> }) {
  const title = "Job queue";
  if (query.isPending) {
    return (
      <Card title={title}>
        <div className="admin-stats">
          {JOB_STATUSES.map((item) => <Skeleton key={item.status} height={76} />)}
        </div>
        <Skeleton lines={3} />
      </Card>
    );
  }
  if (!query.data) {
    return (
      <Card title={title}>
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      </Card>
    );
  }
  const queue = query.data;
  const health = queueHealth(queue);
  const workers = Object.entries(queue.running_by_worker).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const deliveries = Object.entries(queue.webhooks).filter(([, count]) => count > 0);
  const age = queue.oldest_queued_age_seconds;
  const known = new Set(JOB_STATUSES.map((item) => item.status));
  const others = Object.entries(queue.counts).filter(([status]) => !known.has(status));
  return (
    <Card
      title={title}
      actions={
        <span className="admin-live muted small">
          <span className="admin-live-dot" aria-hidden="true" /> Updates every {QUEUE_INTERVAL_MS / 1000} s
        </span>
      }
    >
      {query.isError ? <ErrorNotice error={query.error} onRetry={() => void query.refetch()} /> : null}
      <p className={`notice notice-${health.tone === "danger" ? "error" : health.tone} admin-inline-notice`}>
        {health.text}
      </p>
      <div className="admin-stats" data-testid="queue-counts">
        {JOB_STATUSES.map((item) => (
          <Stat
            key={item.status}
            label={item.label}
            value={formatInteger(queue.counts[item.status] ?? 0)}
            sub={item.status === "queued" ? (age === null ? "none waiting" : `oldest ${formatSeconds(age)}`) : item.status === "running" ? "now" : "all time"}
            tone={item.status === "queued" && age !== null && age >= QUEUE_SLOW_SECONDS ? "warning" : undefined}
          />
        ))}
        {others.map(([status, count]) => <Stat key={status} label={humanize(status)} value={formatInteger(count)} />)}
      </div>

      <div className="grid grid-2 admin-queue-details">
        <div>
          <h3 className="admin-subheading">Workers running a job</h3>
          {workers.length === 0 ? (
            <p className="muted small">No worker is running a job right now.</p>
          ) : (
            <div className="table-wrap">
              <table className="admin-table">
                <thead>
                  <tr>
                    <th scope="col">Worker</th>
                    <th scope="col" className="numeric">Running jobs</th>
                  </tr>
                </thead>
                <tbody>
                  {workers.map(([worker, count]) => (
                    <tr key={worker} data-testid="worker-row">
                      <td><span className="mono admin-break">{worker}</span></td>
                      <td className="numeric">{formatInteger(count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <div>
          <h3 className="admin-subheading">Webhook deliveries</h3>
          {deliveries.length === 0 ? (
            <p className="muted small">No webhook deliveries yet.</p>
          ) : (
            <ul className="admin-badge-list">
              {deliveries.map(([status, count]) => (
                <li key={status}>
                  <Badge tone={DELIVERY_TONE[status] ?? "neutral"}>{humanize(status).toLowerCase()}</Badge>{" "}
                  <span className="small">{formatInteger(count)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </Card>
  );
}

function StatsCards({ query, days }: { query: QueryState<PlatformStats>; days: number }) {
  const stats = query.data;
  const points = useMemo(() => (stats ? fillDays(stats.daily, { from: stats.from, to: stats.to }) : []), [stats]);
  const title = `Usage, last ${stats?.days ?? days} days`;
  if (query.isPending) {
    return (
      <Card title={`Usage, last ${days} days`}>
        <div className="admin-stats">
          {Array.from({ length: 6 }, (_, index) => <Skeleton key={index} height={76} />)}
        </div>
        <Skeleton height={CHART_HEIGHT + 100} />
      </Card>
    );
  }
  if (!stats) {
    return (
      <Card title={`Usage, last ${days} days`}>
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      </Card>
    );
  }
  const totals = stats.totals;
  const hitRate = totals.requests > 0 ? Math.round((totals.cache_hits / totals.requests) * 100) : null;
  const errorRate = totals.requests > 0 ? (totals.errors / totals.requests) * 100 : null;
  return (
    <>
      <Card title={title} actions={query.isPlaceholderData ? <span className="muted small" role="status">Loading…</span> : null}>
        {query.isError ? <ErrorNotice error={query.error} onRetry={() => void query.refetch()} /> : null}
        <div className="admin-stats" data-testid="platform-totals">
          <Stat label="Accounts" value={formatInteger(stats.accounts)} sub="in total" />
          <Stat
            label="Requests"
            value={formatInteger(totals.requests)}
            sub={totals.errors ? `${formatInteger(totals.errors)} failed (${errorRate !== null && errorRate < 0.1 ? "<0.1" : (errorRate ?? 0).toFixed(1)}%)` : "none failed"}
            tone={errorRate !== null && errorRate >= 5 ? "warning" : undefined}
          />
          <Stat label="Characters" value={formatInteger(totals.characters)} sub="synthesized" />
          <Stat label="Audio" value={formatSeconds(totals.audio_seconds)} sub="generated" />
          <Stat label="Audio data" value={formatBytes(totals.audio_bytes)} sub="served" />
          <Stat label="Cache hits" value={formatInteger(totals.cache_hits)} sub={hitRate === null ? "no requests yet" : `${hitRate}% of requests`} />
        </div>
        <UsageChart days={points} height={CHART_HEIGHT} />
      </Card>

      <div className="admin-top-grid">
        <TopCard
          title="Busiest accounts"
          column="Account"
          testId="top-accounts"
          empty="Accounts show up here once they make requests."
          rows={stats.top_accounts.map((row) => ({
            ...row,
            key: row.account_id,
            name: (
              <Link to={`/admin/accounts?account=${encodeURIComponent(row.account_id)}${row.email ? `&q=${encodeURIComponent(row.email)}` : ""}`}>
                {row.email ?? row.account_id}
              </Link>
            ),
          }))}
        />
        <TopCard
          title="Busiest voices"
          column="Voice"
          testId="top-voices"
          empty="Voices show up here once they are used."
          rows={stats.top_voices.map((row) => ({ ...row, key: row.voice, name: <span className="mono">{row.voice}</span> }))}
        />
      </div>
    </>
  );
}

type TopRow = { key: string; name: ReactNode; requests: number; characters: number; audio_seconds: number };

/** A card of the period's busiest accounts or voices: the requests, characters and audio of each. */
function TopCard({ title, column, testId, empty, rows }: { title: string; column: string; testId: string; empty: string; rows: TopRow[] }) {
  return (
    <Card title={title}>
      {rows.length === 0 ? (
        <EmptyState title="No usage yet">
          <p>{empty}</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="admin-table admin-top" data-testid={testId}>
            <thead>
              <UsageHeadings first={column} />
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.key}>
                  <td>{row.name}</td>
                  <td className="numeric">{formatInteger(row.requests)}</td>
                  <td className="numeric">{formatInteger(row.characters)}</td>
                  <td className="numeric admin-nowrap">{formatSeconds(row.audio_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
