// The account's background jobs: what was queued through POST /v1/tts/jobs (or /v1/tts/batch),
// where each one stands, its audio once it has succeeded, and the signed webhooks that announced
// its end. The list refreshes itself every 2 s while any job on it is still queued or running.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type MouseEvent, type ReactNode, useState } from "react";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Drawer } from "../components/Drawer";
import { ErrorNotice } from "../components/ErrorNotice";
import {
  Badge, Button, Card, ConfirmDialog, CopyButton, EmptyState, Field, PageHeader, RefreshButton, Skeleton,
  TableSkeleton,
} from "../components/ui";
import { formatDateTime, formatInteger, formatRelative, formatSeconds } from "../lib/format";
import "./Jobs.css";

export type Job = components["schemas"]["JobOut"];
export type Delivery = components["schemas"]["DeliveryOut"];
type Attempt = components["schemas"]["AttemptOut"];

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
type Tone = "neutral" | "success" | "warning" | "danger" | "info";

export const PAGE_SIZE = 20;
/** How often a page with unfinished work asks again. */
export const LIVE_INTERVAL_MS = 2_000;

// --- rules (unit-tested) ------------------------------------------------------------------------

function capitalize(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

const JOB_BADGES: Record<JobStatus, { tone: Tone; label: string }> = {
  queued: { tone: "neutral", label: "Queued" },
  running: { tone: "info", label: "Running" },
  succeeded: { tone: "success", label: "Succeeded" },
  failed: { tone: "danger", label: "Failed" },
  canceled: { tone: "warning", label: "Canceled" },
};

/** A job status as a badge; a status this page does not know yet still reads sensibly. */
export function jobStatusBadge(status: string): { tone: Tone; label: string } {
  return (JOB_BADGES as Record<string, { tone: Tone; label: string }>)[status]
    ?? { tone: "neutral", label: capitalize(status.replace(/_/g, " ")) };
}

const DELIVERY_BADGES: Record<string, { tone: Tone; label: string }> = {
  pending: { tone: "neutral", label: "Pending" },
  delivering: { tone: "info", label: "Delivering" },
  succeeded: { tone: "success", label: "Delivered" },
  failed: { tone: "danger", label: "Failed" },
  abandoned: { tone: "warning", label: "Abandoned" },
};

export function deliveryStatusBadge(status: string): { tone: Tone; label: string } {
  return DELIVERY_BADGES[status] ?? { tone: "neutral", label: capitalize(status.replace(/_/g, " ")) };
}

/** Queued or running: the job can still change, and can still be canceled. */
export function isActive(status: string): boolean {
  return status === "queued" || status === "running";
}

/** Poll every 2 s while any job shown is queued or running; stop once none is. */
export function jobsRefetchInterval(jobs: readonly Pick<Job, "status">[] | null | undefined): number | false {
  return jobs?.some((job) => isActive(job.status)) ? LIVE_INTERVAL_MS : false;
}

/**
 * How often a job's webhook deliveries are asked for again: every 2 s while the job runs or an
 * attempt is under way or due within the next half minute, every 15 s while a retry waits
 * longer, never once every delivery has an outcome.
 */
export function deliveriesRefetchInterval(
  job: Pick<Job, "status" | "webhook_url"> | undefined,
  deliveries: readonly Pick<Delivery, "status" | "next_attempt_at">[] | undefined,
  now: Date = new Date(),
): number | false {
  if (job && isActive(job.status)) return LIVE_INTERVAL_MS;
  if (job?.webhook_url && deliveries && deliveries.length === 0) return LIVE_INTERVAL_MS;
  let interval: number | false = false;
  for (const delivery of deliveries ?? []) {
    if (delivery.status === "delivering") return LIVE_INTERVAL_MS;
    if (delivery.status !== "pending") continue;
    const due = delivery.next_attempt_at ? new Date(delivery.next_attempt_at).getTime() - now.getTime() : 0;
    if (due <= 30_000) return LIVE_INTERVAL_MS;
    interval = 15_000;
  }
  return interval;
}

/**
 * A 0–1 share of the work done, when the server reports one. `JobOut` carries no progress
 * figure today: a running job then shows an indeterminate bar.
 */
export function jobProgress(job: Job): number | null {
  if (job.status === "succeeded") return 1;
  const reported = (job as Job & { progress?: unknown }).progress;
  if (typeof reported !== "number" || !Number.isFinite(reported)) return null;
  const share = reported > 1 ? reported / 100 : reported;
  return Math.min(1, Math.max(0, share));
}

/** The job's life so far, oldest first: what the timeline in the detail panel shows. */
export function jobTimeline(job: Job, now: Date = new Date()): { label: string; at: string; tone: Tone }[] {
  const events: { label: string; at: string; tone: Tone }[] = [
    { label: "Queued", at: job.created_at, tone: "neutral" },
  ];
  if (job.started_at) {
    events.push({
      label: job.attempts > 1 ? `Started (attempt ${job.attempts})` : "Started",
      at: job.started_at,
      tone: "info",
    });
  }
  if (job.finished_at) {
    const { tone, label } = jobStatusBadge(job.status);
    events.push({ label, at: job.finished_at, tone });
  }
  if (job.expires_at && (job.purged || new Date(job.expires_at) <= now)) {
    events.push({ label: "Text and audio deleted", at: job.expires_at, tone: "neutral" });
  }
  return events;
}

export function audioHref(jobId: string): string {
  return `/account/jobs/${encodeURIComponent(jobId)}/audio`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${formatInteger(bytes)} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function canDownload(job: Job): boolean {
  return job.status === "succeeded" && !job.purged;
}

function durationBetween(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const seconds = (new Date(to).getTime() - new Date(from).getTime()) / 1000;
  return seconds >= 0 ? seconds : null;
}

function voiceLabel(job: Job): string {
  if (job.voice) return job.voice;
  return job.kind === "batch" ? "Per item" : "Default";
}

function formatLabel(job: Job): string {
  const format = job.format.toUpperCase();
  return job.kind === "batch" ? `${format} in ZIP` : format;
}

// --- data ------------------------------------------------------------------------------------------

const JOBS_KEY = "jobs";

function useCancelJob(jobId: string, onDone: () => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/account/jobs/{job_id}/cancel", { params: { path: { job_id: jobId } } })),
    onSuccess: (job) => {
      client.setQueryData([JOBS_KEY, "detail", jobId], job);
      void client.invalidateQueries({ queryKey: [JOBS_KEY] });
      onDone();
    },
    onError: (error) => {
      // Finished meanwhile: show where it ended up.
      if (error instanceof ApiError && error.status === 409) void client.invalidateQueries({ queryKey: [JOBS_KEY] });
    },
  });
}

// --- page ------------------------------------------------------------------------------------------

function parseStatus(value: string | null): JobStatus | null {
  return (JOB_STATUSES as readonly string[]).includes(value ?? "") ? (value as JobStatus) : null;
}

export function Jobs() {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const status = parseStatus(params.get("status"));
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const offset = (page - 1) * PAGE_SIZE;

  // A job opened from elsewhere (the playground, a notification) arrives as route state.
  const stateJobId = (location.state as { jobId?: unknown } | null)?.jobId;
  const selectedId = params.get("job") ?? (typeof stateJobId === "string" ? stateJobId : null);

  const jobs = useQuery({
    queryKey: [JOBS_KEY, "list", { status, offset, limit: PAGE_SIZE }],
    queryFn: () => unwrap(api.GET("/account/jobs", {
      params: { query: { limit: PAGE_SIZE, offset, ...(status ? { status } : {}) } },
    })),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => jobsRefetchInterval(query.state.data?.data),
  });

  function update(changes: Record<string, string | null>, replace = false) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key);
      else next.set(key, value);
    }
    setParams(next, { replace, state: null });
  }

  function openJob(jobId: string) {
    update({ job: jobId });
  }

  function closeJob() {
    if (params.get("job")) update({ job: null });
    else navigate(location.pathname + location.search, { replace: true, state: null });
  }

  const data = jobs.data;
  const live = jobsRefetchInterval(data?.data) !== false;
  const selectedFromList = data?.data.find((job) => job.job_id === selectedId);

  const noJobsAtAll = data !== undefined && data.total === 0 && !status && page === 1;

  return (
    <div className="jobs-page">
      <PageHeader
        title="Jobs"
        description="Long texts and batches, synthesized in the background."
        actions={
          <>
            {live ? (
              <span className="jobs-live" role="status">
                <span className="jobs-live-dot" aria-hidden="true" /> Live · updating every 2 s
              </span>
            ) : null}
            <RefreshButton query={jobs} />
          </>
        }
      />

      <Card>
        <div className="jobs-toolbar" hidden={noJobsAtAll}>
          <Field label="Status">
            {(id, describedBy) => (
              <select
                id={id}
                aria-describedby={describedBy}
                value={status ?? ""}
                onChange={(event) => update({ status: event.target.value || null, page: null })}
              >
                <option value="">All jobs</option>
                {JOB_STATUSES.map((value) => (
                  <option key={value} value={value}>{jobStatusBadge(value).label}</option>
                ))}
              </select>
            )}
          </Field>
          {data && data.total > 0 ? (
            <p className="muted small jobs-count" aria-live="polite">
              {formatInteger(Math.min(offset + 1, data.total))}–{formatInteger(Math.min(offset + data.data.length, data.total))} of {formatInteger(data.total)}
            </p>
          ) : null}
        </div>

        {jobs.isError && !data ? (
          <ErrorNotice error={jobs.error} onRetry={() => void jobs.refetch()} />
        ) : jobs.isPending ? (
          <JobsTableSkeleton />
        ) : data && data.data.length === 0 ? (
          status || page > 1 ? (
            <EmptyState
              title={page > 1 ? "Nothing on this page" : `No ${jobStatusBadge(status ?? "").label.toLowerCase()} jobs`}
              action={<Button variant="secondary" onClick={() => update({ status: null, page: null })}>Show all jobs</Button>}
            >
              <p>Jobs of every status are listed under “All jobs”.</p>
            </EmptyState>
          ) : (
            <JobsIntro />
          )
        ) : data ? (
          <>
            {jobs.isError ? <ErrorNotice error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
            <JobsTable jobs={data.data} onOpen={openJob} />
            <Pager
              page={page}
              total={data.total}
              busy={jobs.isPlaceholderData}
              onPage={(next) => update({ page: next > 1 ? String(next) : null })}
            />
          </>
        ) : null}
      </Card>

      {selectedId ? (
        <JobDrawer key={selectedId} jobId={selectedId} fromList={selectedFromList} onClose={closeJob} />
      ) : null}
    </div>
  );
}

function JobsIntro() {
  const origin = typeof window === "undefined" ? "https://your-vocalis-host" : window.location.origin;
  const example = [
    `curl -X POST ${origin}/v1/tts/jobs \\`,
    `  -H "Authorization: Bearer $VOCALIS_API_KEY" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"text": "A long chapter…",`,
    `       "webhook_url": "https://example.com/hooks/vocalis"}'`,
  ].join("\n");
  return (
    <EmptyState
      title="No jobs yet"
      action={
        <div className="jobs-intro-actions">
          <Link className="button button-primary" to="/quickstart">Read the quickstart</Link>
          <Link className="button button-secondary" to="/keys">Create an API key</Link>
        </div>
      }
    >
      <p className="jobs-intro-text">
        Jobs turn long texts and batches into audio in the background. Send the text to{" "}
        <code>POST /v1/tts/jobs</code> with an API key: you get a job ID at once, and when the audio
        is ready Vocalis posts a signed webhook to your server. Every job then shows up here with its
        progress, its audio and its webhook deliveries.
      </p>
      <pre className="code-block jobs-intro-code">{example}</pre>
    </EmptyState>
  );
}

const COLUMNS = ["Job", "Status", "Progress", "Characters", "Voice · format", "Created", "Finished", ""] as const;

function JobsTableSkeleton() {
  return (
    <TableSkeleton columns={COLUMNS} rows={6} label="Loading jobs" tableClassName="jobs-table" cellClassName="jobs-skeleton-cell" />
  );
}

function JobsTable({ jobs, onOpen }: { jobs: Job[]; onOpen: (jobId: string) => void }) {
  function onRowClick(event: MouseEvent<HTMLTableRowElement>, jobId: string) {
    // Buttons and links in the row do their own thing.
    if ((event.target as HTMLElement).closest("a, button, dialog, input, select")) return;
    onOpen(jobId);
  }
  return (
    <div className="table-wrap">
      <table className="jobs-table">
        <caption className="jobs-sr-only">Your jobs, newest first</caption>
        <thead>
          <tr>
            {COLUMNS.map((column, index) => (
              <th key={index} scope="col">{column || <span className="jobs-sr-only">Actions</span>}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const badge = jobStatusBadge(job.status);
            const took = durationBetween(job.started_at, job.finished_at);
            return (
              <tr key={job.job_id} className="jobs-row" onClick={(event) => onRowClick(event, job.job_id)}>
                <Cell label="Job">
                  <span className="mono jobs-id" title={job.job_id}>{job.job_id}</span>
                  {job.kind === "batch" ? (
                    <span className="muted small jobs-sub">Batch · {formatInteger(job.items)} items</span>
                  ) : null}
                </Cell>
                <Cell label="Status"><Badge tone={badge.tone}>{badge.label}</Badge></Cell>
                <Cell label="Progress"><JobProgressCell job={job} /></Cell>
                <Cell label="Characters">{formatInteger(job.characters)}</Cell>
                <Cell label="Voice · format">
                  {voiceLabel(job)}
                  <span className="muted small jobs-sub">{formatLabel(job)}</span>
                </Cell>
                <Cell label="Created">
                  <time className="jobs-nowrap" dateTime={job.created_at} title={formatDateTime(job.created_at)}>{formatRelative(job.created_at)}</time>
                </Cell>
                <Cell label="Finished">
                  {job.finished_at ? (
                    <>
                      <time className="jobs-nowrap" dateTime={job.finished_at}>{formatDateTime(job.finished_at)}</time>
                      {took !== null ? <span className="muted small jobs-sub">took {formatSeconds(took)}</span> : null}
                    </>
                  ) : <span className="muted">—</span>}
                </Cell>
                <td className="jobs-actions">
                  {isActive(job.status) ? <CancelJobButton job={job} label="Cancel" variant="ghost" /> : null}
                  {canDownload(job) ? (
                    <a className="button button-ghost" href={audioHref(job.job_id)} download aria-label={`Download the audio of job ${job.job_id}`}>
                      Download
                    </a>
                  ) : null}
                  <Button variant="secondary" onClick={() => onOpen(job.job_id)} aria-label={`Details of job ${job.job_id}`}>
                    Details
                  </Button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A table cell that, on phones, shows its column's name beside its content. */
function Cell({ label, children }: { label: string; children: ReactNode }) {
  return (
    <td data-label={label}>
      <div className="jobs-cell">{children}</div>
    </td>
  );
}

export function JobProgressCell({ job }: { job: Job }) {
  if (job.status === "queued") return <span className="muted small">Waiting for a worker</span>;
  if (job.status === "running") {
    const share = jobProgress(job);
    return (
      <div className="jobs-progress-wrap">
        <div
          className={`jobs-progress ${share === null ? "jobs-progress-indeterminate" : ""}`}
          role="progressbar"
          aria-label={`Progress of job ${job.job_id}`}
          aria-valuemin={share === null ? undefined : 0}
          aria-valuemax={share === null ? undefined : 100}
          aria-valuenow={share === null ? undefined : Math.round(share * 100)}
          aria-valuetext={share === null ? "Synthesizing" : `${Math.round(share * 100)}%`}
        >
          <div className="jobs-progress-fill" style={share === null ? undefined : { width: `${share * 100}%` }} />
        </div>
        <span className="muted small">
          {share === null ? `Synthesizing ~${formatSeconds(job.estimated_audio_seconds)}` : `${Math.round(share * 100)}%`}
        </span>
      </div>
    );
  }
  if (job.status === "succeeded") {
    return (
      <span className="small">
        {job.audio_seconds !== null ? `${formatSeconds(job.audio_seconds)} of audio` : "Done"}
        {job.purged ? <span className="muted jobs-sub">Audio deleted</span> : null}
      </span>
    );
  }
  if (job.status === "failed") {
    return <span className="small jobs-error" title={job.error?.detail}>{job.error?.code ?? "Failed"}</span>;
  }
  return <span className="muted">—</span>;
}

function Pager({ page, total, busy, onPage }: { page: number; total: number; busy: boolean; onPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (pages <= 1 && page <= 1) return null;
  return (
    <nav className="jobs-pager" aria-label="Job pages">
      <Button variant="secondary" onClick={() => onPage(page - 1)} disabled={page <= 1 || busy}>Previous</Button>
      <span className="muted small" aria-live="polite">Page {page} of {pages}</span>
      <Button variant="secondary" onClick={() => onPage(page + 1)} disabled={page >= pages || busy}>Next</Button>
    </nav>
  );
}

// --- cancel ---------------------------------------------------------------------------------------

export function CancelJobButton({ job, label = "Cancel job", variant = "danger" }: {
  job: Job; label?: string; variant?: "danger" | "secondary" | "ghost";
}) {
  const [open, setOpen] = useState(false);
  const cancel = useCancelJob(job.job_id, () => setOpen(false));
  return (
    <>
      <Button
        variant={variant}
        className={variant === "ghost" ? "jobs-ghost-danger" : undefined}
        onClick={() => { cancel.reset(); setOpen(true); }}
        aria-label={label === "Cancel job" ? undefined : `${label} job ${job.job_id}`}
      >
        {label}
      </Button>
      <ConfirmDialog
        open={open}
        title="Cancel this job?"
        confirmLabel="Cancel job"
        danger
        busy={cancel.isPending}
        onConfirm={() => cancel.mutate()}
        onCancel={() => setOpen(false)}
      >
        <p>
          {job.status === "running"
            ? "The worker stops at once and the audio made so far is discarded."
            : "The job leaves the queue before any audio is made."}{" "}
          The characters reserved for it go back to your monthly allowance.
        </p>
        {job.webhook_url ? <p className="muted small">Your webhook receives a <code>job.canceled</code> event.</p> : null}
        {cancel.isError ? <ErrorNotice error={cancel.error} /> : null}
      </ConfirmDialog>
    </>
  );
}

// --- detail panel ---------------------------------------------------------------------------------

function JobDrawer({ jobId, fromList, onClose }: { jobId: string; fromList: Job | undefined; onClose: () => void }) {
  const job = useQuery({
    queryKey: [JOBS_KEY, "detail", jobId],
    queryFn: () => unwrap(api.GET("/account/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
    placeholderData: fromList,
    refetchInterval: (query) => (query.state.data && isActive(query.state.data.status) ? LIVE_INTERVAL_MS : false),
  });
  const current = job.data;

  const deliveries = useQuery({
    queryKey: [JOBS_KEY, "webhooks", jobId],
    queryFn: () => unwrap(api.GET("/account/jobs/{job_id}/webhooks", { params: { path: { job_id: jobId } } })),
    enabled: current !== undefined,
    refetchInterval: (query) => deliveriesRefetchInterval(current, query.state.data),
  });

  return (
    <Drawer
      block="jobs-drawer"
      title="Job details"
      subtitle={<span className="mono small muted jobs-id-full">{jobId}</span>}
      closeLabel="Close job details"
      onClose={onClose}
    >
      {job.isError && !current ? (
        <ErrorNotice error={job.error} onRetry={() => void job.refetch()} />
      ) : !current ? (
        <DrawerSkeleton />
      ) : (
        <JobDetail job={current} deliveries={deliveries} />
      )}
    </Drawer>
  );
}

function DrawerSkeleton() {
  return (
    <div aria-busy="true" aria-label="Loading the job">
      <Skeleton height={38} />
      <div className="jobs-drawer-gap" />
      <Skeleton lines={8} />
      <div className="jobs-drawer-gap" />
      <Skeleton height={120} />
    </div>
  );
}

function JobDetail({ job, deliveries }: {
  job: Job;
  deliveries: { data?: Delivery[]; isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };
}) {
  const badge = jobStatusBadge(job.status);
  const took = durationBetween(job.started_at, job.finished_at);
  const metadata = job.metadata && Object.keys(job.metadata).length ? JSON.stringify(job.metadata, null, 2) : null;
  const expired = job.expires_at !== null && new Date(job.expires_at) <= new Date();
  return (
    <>
      <div className="jobs-drawer-status">
        <Badge tone={badge.tone}>{badge.label}</Badge>
        <JobProgressCell job={job} />
      </div>

      <div className="jobs-drawer-actions">
        {canDownload(job) ? (
          <a className="button button-primary" href={audioHref(job.job_id)} download>
            {job.kind === "batch" ? "Download ZIP" : "Download audio"}
          </a>
        ) : null}
        {isActive(job.status) ? <CancelJobButton job={job} /> : null}
        <CopyButton value={job.job_id} label="Copy job ID" />
      </div>

      {job.status === "failed" && job.error ? (
        <div className="notice notice-error" role="status">
          <p className="notice-title">The job failed: <code>{job.error.code}</code></p>
          <p>{job.error.detail || "No further detail was given."}</p>
          <p className="small muted">The characters reserved for it were refunded.</p>
        </div>
      ) : null}
      {job.status === "succeeded" && job.purged ? (
        <div className="notice notice-info" role="status">
          The text and audio of this job were deleted at the end of the retention period
          {job.expires_at ? ` (${formatDateTime(job.expires_at)})` : ""}. Its usage is still counted.
        </div>
      ) : null}

      <dl className="jobs-facts">
        <Fact term="Kind">{job.kind === "batch" ? `Batch of ${formatInteger(job.items)} items` : "Speech"}</Fact>
        <Fact term="Voice">{voiceLabel(job)}</Fact>
        <Fact term="Format">{formatLabel(job)}</Fact>
        <Fact term="Characters">{formatInteger(job.characters)}</Fact>
        <Fact term="Audio length">
          {job.audio_seconds !== null ? formatSeconds(job.audio_seconds) : `~${formatSeconds(job.estimated_audio_seconds)} (estimate)`}
        </Fact>
        {job.audio_bytes !== null ? <Fact term="Audio size">{formatBytes(job.audio_bytes)}</Fact> : null}
        <Fact term="Created">{formatDateTime(job.created_at)}</Fact>
        <Fact term="Finished">
          {job.finished_at ? `${formatDateTime(job.finished_at)}${took !== null ? ` (took ${formatSeconds(took)})` : ""}` : "—"}
        </Fact>
        {job.attempts > 1 ? <Fact term="Worker attempts">{formatInteger(job.attempts)}</Fact> : null}
        {job.expires_at ? (
          <Fact term={job.purged || expired ? "Deleted" : "Audio kept until"}>{formatDateTime(job.expires_at)}</Fact>
        ) : null}
        <Fact term="Webhook URL">
          {job.webhook_url ? <span className="mono jobs-break">{job.webhook_url}</span> : <span className="muted">None</span>}
        </Fact>
      </dl>

      {metadata ? (
        <section className="jobs-section" aria-label="Metadata">
          <h3>Metadata</h3>
          <pre className="code-block">{metadata}</pre>
        </section>
      ) : null}

      <section className="jobs-section">
        <h3>Events</h3>
        <ol className="jobs-timeline">
          {jobTimeline(job).map((event) => (
            <li key={`${event.label}-${event.at}`} className={`jobs-timeline-${event.tone}`}>
              <span className="jobs-timeline-label">{event.label}</span>
              <time className="muted small" dateTime={event.at}>{formatDateTime(event.at)}</time>
            </li>
          ))}
          {isActive(job.status) ? (
            <li className="jobs-timeline-pending">
              <span className="jobs-timeline-label muted">{job.status === "queued" ? "Waiting for a worker…" : "Synthesizing…"}</span>
            </li>
          ) : null}
        </ol>
      </section>

      <section className="jobs-section">
        <h3>Webhook deliveries</h3>
        <WebhookDeliveries job={job} deliveries={deliveries} />
      </section>
    </>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function WebhookDeliveries({ job, deliveries }: {
  job: Job;
  deliveries: { data?: Delivery[]; isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };
}) {
  if (!job.webhook_url) {
    return (
      <p className="muted small">
        This job was submitted without a <code>webhook_url</code>, so no webhook is sent.{" "}
        <Link to="/webhooks">How webhooks work</Link>
      </p>
    );
  }
  if (deliveries.isError && !deliveries.data) return <ErrorNotice error={deliveries.error} onRetry={() => void deliveries.refetch()} />;
  if (deliveries.isPending || !deliveries.data) return <Skeleton lines={3} />;
  if (deliveries.data.length === 0) {
    return (
      <p className="muted small">
        {isActive(job.status)
          ? "A job.succeeded, job.failed or job.canceled event is sent when the job ends."
          : "No delivery yet: the event is being queued."}
      </p>
    );
  }
  return (
    <ul className="jobs-deliveries">
      {deliveries.data.map((delivery) => <DeliveryItem key={delivery.webhook_id} delivery={delivery} />)}
    </ul>
  );
}

function DeliveryItem({ delivery }: { delivery: Delivery }) {
  const badge = deliveryStatusBadge(delivery.status);
  return (
    <li className="jobs-delivery">
      <div className="jobs-delivery-head">
        <code>{delivery.event_type}</code>
        <Badge tone={badge.tone}>{badge.label}</Badge>
      </div>
      <p className="muted small jobs-break">
        <span className="mono">{delivery.webhook_id}</span> → {delivery.url}
      </p>
      {delivery.status === "pending" && delivery.next_attempt_at ? (
        <p className="small">
          Next attempt {formatRelative(delivery.next_attempt_at)} ({formatDateTime(delivery.next_attempt_at)})
        </p>
      ) : null}
      {delivery.attempts.length ? (
        <div className="table-wrap">
          <table className="jobs-attempts">
            <caption className="jobs-sr-only">Delivery attempts of {delivery.webhook_id}</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Answer</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {delivery.attempts.map((attempt, index) => (
                <AttemptRow key={`${attempt.attempted_at}-${index}`} attempt={attempt} index={index} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted small">No attempt yet.</p>
      )}
    </li>
  );
}

export function attemptOutcome(attempt: Pick<Attempt, "status_code" | "error">): { tone: Tone; label: string } {
  if (attempt.status_code !== null) {
    const ok = attempt.status_code >= 200 && attempt.status_code < 300;
    return { tone: ok ? "success" : "danger", label: `HTTP ${attempt.status_code}` };
  }
  return { tone: "danger", label: "No answer" };
}

function AttemptRow({ attempt, index }: { attempt: Attempt; index: number }) {
  const outcome = attemptOutcome(attempt);
  return (
    <tr>
      <td>{index + 1}</td>
      <td><time dateTime={attempt.attempted_at}>{formatDateTime(attempt.attempted_at)}</time></td>
      <td>
        <Badge tone={outcome.tone}>{outcome.label}</Badge>
        {attempt.error ? <span className="small jobs-error jobs-sub jobs-break">{attempt.error}</span> : null}
      </td>
      <td className="mono">{formatInteger(attempt.duration_ms)} ms</td>
    </tr>
  );
}
