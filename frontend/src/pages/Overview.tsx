// The dashboard's home: the plan and this period's allowances, the last 30 days of usage as a
// chart, and the latest requests. Each part loads (and fails) on its own.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNotice } from "../components/ErrorNotice";
import { Meter } from "../components/Meter";
import { UsageChart, fillDays } from "../components/UsageChart";
import { Badge, Card, EmptyState, PageHeader, Skeleton } from "../components/ui";
import { formatDate, formatDateTime, formatInteger, formatRelative, formatSeconds } from "../lib/format";
import "./Overview.css";

type Quota = components["schemas"]["QuotaOut"];
type UsageSummary = components["schemas"]["UsageSummary"];
type UsageEvent = components["schemas"]["UsageEventOut"];

const DAYS = 30;
const RECENT = 10;
const CHART_HEIGHT = 260;

function planName(plan: string): string {
  return plan
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

export function Overview() {
  const quota = useQuery({
    queryKey: ["account", "quota"],
    queryFn: () => unwrap(api.GET("/account/quota")),
  });
  const usage = useQuery({
    queryKey: ["account", "usage", DAYS],
    queryFn: () => unwrap(api.GET("/account/usage", { params: { query: { days: DAYS } } })),
  });
  const logs = useQuery({
    queryKey: ["account", "usage-logs", RECENT],
    queryFn: () => unwrap(api.GET("/account/usage/logs", { params: { query: { limit: RECENT } } })),
  });

  return (
    <div className="overview-page">
      <PageHeader
        title="Overview"
        description="Your plan, this period's allowance and what your requests have used."
        actions={
          <>
            <Link className="button button-secondary" to="/keys">API keys</Link>
            <Link className="button button-primary" to="/playground">Open playground</Link>
          </>
        }
      />
      <PlanCard query={quota} />
      <UsageCard query={usage} />
      <RecentRequests query={logs} />
    </div>
  );
}

type QueryState<T> = { data: T | undefined; error: unknown; isPending: boolean; isError: boolean; refetch: () => unknown };

function PlanCard({ query }: { query: QueryState<Quota> }) {
  if (query.isPending) {
    return (
      <Card title="Plan">
        <Skeleton height={30} />
        <div className="overview-meters">
          <Skeleton height={64} />
          <Skeleton height={64} />
        </div>
        <div className="overview-reset"><Skeleton height={18} /></div>
      </Card>
    );
  }
  if (query.isError || !query.data) {
    return (
      <Card title="Plan">
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      </Card>
    );
  }
  const quota = query.data;
  return (
    <Card title="Plan" actions={<Link to="/billing">Plans and billing</Link>}>
      <div className="overview-plan-head">
        <span className="overview-plan-name" data-testid="plan-name">{planName(quota.plan)}</span>
        <Badge tone="info">Current plan</Badge>
      </div>
      <div className="overview-meters">
        <Meter label="Characters" used={quota.characters.used} limit={quota.characters.limit} unit="characters" />
        <Meter label="Audio" used={quota.seconds.used} limit={quota.seconds.limit} unit="seconds" />
      </div>
      <p className="overview-reset muted small">
        {quota.characters.limit === null && quota.seconds.limit === null ? "Usage period ends" : "Allowance resets"}{" "}
        <time dateTime={quota.resets_at} title={formatDateTime(quota.resets_at)}>{formatDate(quota.resets_at)}</time>{" "}
        ({formatRelative(quota.resets_at)})
      </p>
    </Card>
  );
}

function UsageCard({ query }: { query: QueryState<UsageSummary> }) {
  const summary = query.data;
  const days = useMemo(
    () => (summary ? fillDays(summary.daily, { from: summary.from, to: summary.to }) : []),
    [summary],
  );
  const title = `Last ${DAYS} days`;
  if (query.isPending) {
    return (
      <Card title={title}>
        <div className="overview-stats">
          {Array.from({ length: 4 }, (_, index) => <Skeleton key={index} height={70} />)}
        </div>
        <Skeleton height={CHART_HEIGHT + 100} />
      </Card>
    );
  }
  if (query.isError || !summary) {
    return (
      <Card title={title}>
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      </Card>
    );
  }
  const totals = summary.totals;
  const hitRate = totals.requests > 0 ? Math.round((totals.cache_hits / totals.requests) * 100) : null;
  return (
    <Card title={title}>
      <div className="overview-stats">
        <Stat label="Requests" value={formatInteger(totals.requests)} sub={totals.errors ? `${formatInteger(totals.errors)} failed` : "none failed"} />
        <Stat label="Characters" value={formatInteger(totals.characters)} sub="synthesized" />
        <Stat label="Audio" value={formatSeconds(totals.audio_seconds)} sub="generated" />
        <Stat
          label="Cache hits"
          value={formatInteger(totals.cache_hits)}
          sub={hitRate === null ? "no requests yet" : `${hitRate}% of requests`}
        />
      </div>
      <UsageChart days={days} height={CHART_HEIGHT} />
    </Card>
  );
}

function Stat({ label, value, sub }: { label: string; value: string; sub: string }) {
  return (
    <div className="overview-stat">
      <p className="overview-stat-label">{label}</p>
      <p className="stat">{value}</p>
      <p className="overview-stat-sub">{sub}</p>
    </div>
  );
}

function RecentRequests({ query }: { query: QueryState<components["schemas"]["Page_UsageEventOut_"]> }) {
  const title = "Recent requests";
  if (query.isPending) {
    return (
      <Card title={title}>
        <Skeleton lines={RECENT} />
      </Card>
    );
  }
  if (query.isError || !query.data) {
    return (
      <Card title={title}>
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      </Card>
    );
  }
  const events = query.data.data;
  if (events.length === 0) {
    return (
      <Card title={title}>
        <EmptyState title="Make your first request">
          <p>
            Try a voice in the playground, or create an API key and call the API from your code.
            Your requests show up here.
          </p>
          <div className="overview-empty-actions">
            <Link className="button button-primary" to="/playground">Try the playground</Link>
            <Link className="button button-secondary" to="/keys">Create an API key</Link>
          </div>
        </EmptyState>
      </Card>
    );
  }
  const total = query.data.total;
  return (
    <Card
      title={title}
      actions={<span className="muted small">Latest {formatInteger(events.length)} of {formatInteger(total)}</span>}
    >
      <div className="table-wrap">
        <table className="overview-recent" data-testid="recent-requests">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Voice</th>
              <th scope="col" className="numeric">Characters</th>
              <th scope="col" className="numeric">Audio</th>
              <th scope="col">Status</th>
              <th scope="col">Cache</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => <RequestRow key={event.id} event={event} />)}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

const OUTCOME_LABEL: Record<string, string> = {
  completed: "completed",
  failed: "failed",
  canceled: "canceled, refunded",
  interrupted: "interrupted, refunded",
};

function statusTone(event: UsageEvent): "success" | "warning" | "danger" | "neutral" {
  if (event.outcome === "canceled" || event.outcome === "interrupted") return "neutral";
  if (event.outcome === "failed" || event.status_code >= 500) return "danger";
  if (event.status_code >= 400) return "warning";
  return "success";
}

function RequestRow({ event }: { event: UsageEvent }) {
  const outcome = event.outcome ? (OUTCOME_LABEL[event.outcome] ?? event.outcome) : null;
  return (
    <tr>
      <td>
        <time dateTime={event.created_at} title={formatRelative(event.created_at)}>{formatDateTime(event.created_at)}</time>
      </td>
      <td className="endpoint mono">
        <span className="method">{event.method}</span>
        {event.endpoint}
      </td>
      <td>{event.voice ?? <span className="muted">—</span>}</td>
      <td className="numeric">{formatInteger(event.characters)}</td>
      <td className="numeric">{event.audio_ms > 0 ? formatSeconds(event.audio_ms / 1000) : <span className="muted">—</span>}</td>
      <td>
        <span className="overview-status">
          <Badge tone={statusTone(event)}>{event.status_code}</Badge>
          {outcome ? <span className="muted small">{outcome}</span> : null}
        </span>
      </td>
      <td>{event.cache_hit ? <Badge tone="info">Hit</Badge> : <span className="muted small">Miss</span>}</td>
    </tr>
  );
}
