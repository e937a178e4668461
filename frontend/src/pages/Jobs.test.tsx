import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { answer, renderWithProviders } from "../test/harness";
import {
  type Delivery, type Job, JOB_STATUSES, Jobs, LIVE_INTERVAL_MS, attemptOutcome, audioHref,
  deliveriesRefetchInterval, deliveryStatusBadge, formatBytes, isActive, jobProgress, jobStatusBadge,
  jobTimeline, jobsRefetchInterval,
} from "./Jobs";

vi.mock("../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../api/client")>();
  return { ...actual, api: { GET: vi.fn(), POST: vi.fn() } };
});

const GET = api.GET as unknown as Mock;
const POST = api.POST as unknown as Mock;

function job(overrides: Partial<Job> = {}): Job {
  return {
    job_id: "job_1",
    kind: "speech",
    status: "succeeded",
    voice: "af_heart",
    format: "wav",
    items: 1,
    characters: 1234,
    estimated_audio_seconds: 80,
    audio_seconds: 79.5,
    audio_bytes: 2_500_000,
    attempts: 1,
    error: null,
    metadata: null,
    webhook_url: null,
    audio_url: "http://localhost/account/jobs/job_1/audio",
    created_at: "2025-11-01T10:00:00Z",
    started_at: "2025-11-01T10:00:02Z",
    finished_at: "2025-11-01T10:00:30Z",
    expires_at: "2999-11-04T10:00:30Z",
    purged: false,
    ...overrides,
  };
}

function page(data: Job[], total = data.length) {
  return { data, total, limit: 20, offset: 0 };
}

function renderPage(entry: string | { pathname: string; state?: unknown } = "/jobs", children: ReactNode = <Jobs />) {
  return renderWithProviders(children, entry);
}

describe("status badges", () => {
  it("gives every job status its own tone and label", () => {
    expect(jobStatusBadge("queued")).toEqual({ tone: "neutral", label: "Queued" });
    expect(jobStatusBadge("running")).toEqual({ tone: "info", label: "Running" });
    expect(jobStatusBadge("succeeded")).toEqual({ tone: "success", label: "Succeeded" });
    expect(jobStatusBadge("failed")).toEqual({ tone: "danger", label: "Failed" });
    expect(jobStatusBadge("canceled")).toEqual({ tone: "warning", label: "Canceled" });
  });

  it("reads an unknown status sensibly", () => {
    expect(jobStatusBadge("waiting_for_gpu")).toEqual({ tone: "neutral", label: "Waiting for gpu" });
    expect(jobStatusBadge("")).toEqual({ tone: "neutral", label: "" });
  });

  it("labels webhook deliveries", () => {
    expect(deliveryStatusBadge("succeeded")).toEqual({ tone: "success", label: "Delivered" });
    expect(deliveryStatusBadge("failed").tone).toBe("danger");
    expect(deliveryStatusBadge("abandoned").tone).toBe("warning");
    expect(deliveryStatusBadge("delivering").tone).toBe("info");
    expect(deliveryStatusBadge("pending").tone).toBe("neutral");
  });

  it("tells a 2xx attempt from a failed one", () => {
    expect(attemptOutcome({ status_code: 204, error: null })).toEqual({ tone: "success", label: "HTTP 204" });
    expect(attemptOutcome({ status_code: 500, error: null })).toEqual({ tone: "danger", label: "HTTP 500" });
    expect(attemptOutcome({ status_code: null, error: "timed out" })).toEqual({ tone: "danger", label: "No answer" });
  });
});

describe("refresh while active", () => {
  it("polls every 2 s while any job is queued or running", () => {
    expect(jobsRefetchInterval([{ status: "succeeded" }, { status: "queued" }])).toBe(LIVE_INTERVAL_MS);
    expect(jobsRefetchInterval([{ status: "running" }])).toBe(2000);
  });

  it("stops once none is", () => {
    expect(jobsRefetchInterval(undefined)).toBe(false);
    expect(jobsRefetchInterval([])).toBe(false);
    expect(jobsRefetchInterval([{ status: "succeeded" }, { status: "failed" }, { status: "canceled" }])).toBe(false);
  });

  it("knows which statuses are active", () => {
    expect(JOB_STATUSES.filter(isActive)).toEqual(["queued", "running"]);
  });

  it("polls deliveries while one is due soon, slowly while a retry waits, never when all ended", () => {
    const now = new Date("2025-11-01T12:00:00Z");
    const finished = { status: "succeeded", webhook_url: "https://example.com/h" };
    expect(deliveriesRefetchInterval({ status: "running", webhook_url: null }, [], now)).toBe(2000);
    expect(deliveriesRefetchInterval(finished, [], now)).toBe(2000);
    expect(deliveriesRefetchInterval(finished, [{ status: "delivering", next_attempt_at: null }], now)).toBe(2000);
    expect(deliveriesRefetchInterval(finished, [{ status: "pending", next_attempt_at: "2025-11-01T12:00:10Z" }], now)).toBe(2000);
    expect(deliveriesRefetchInterval(finished, [{ status: "pending", next_attempt_at: "2025-11-01T14:00:00Z" }], now)).toBe(15000);
    expect(deliveriesRefetchInterval(finished, [{ status: "succeeded", next_attempt_at: null }], now)).toBe(false);
    expect(deliveriesRefetchInterval({ status: "failed", webhook_url: null }, [], now)).toBe(false);
  });
});

describe("job helpers", () => {
  it("reports progress only when known", () => {
    expect(jobProgress(job({ status: "succeeded" }))).toBe(1);
    expect(jobProgress(job({ status: "running" }))).toBeNull();
    expect(jobProgress({ ...job({ status: "running" }), progress: 0.4 } as Job)).toBe(0.4);
    expect(jobProgress({ ...job({ status: "running" }), progress: 55 } as Job)).toBe(0.55);
  });

  it("builds the timeline from the job's timestamps", () => {
    const events = jobTimeline(job({ status: "failed", attempts: 2 }));
    expect(events.map((event) => event.label)).toEqual(["Queued", "Started (attempt 2)", "Failed"]);
    const purged = jobTimeline(job({ purged: true, expires_at: "2025-11-04T10:00:30Z" }));
    expect(purged.at(-1)?.label).toBe("Text and audio deleted");
  });

  it("formats sizes and links", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2_500_000)).toBe("2.4 MB");
    expect(audioHref("job_a/b")).toBe("/account/jobs/job_a%2Fb/audio");
  });
});

describe("Jobs page", () => {
  beforeEach(() => {
    GET.mockReset();
    POST.mockReset();
  });
  afterEach(() => vi.useRealTimers());

  it("explains jobs when there are none", async () => {
    GET.mockImplementation(() => answer(page([])));
    renderPage();
    expect(await screen.findByText("No jobs yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Read the quickstart" })).toHaveAttribute("href", "/quickstart");
    expect(screen.getAllByText(/POST \/v1\/tts\/jobs/).length).toBeGreaterThan(0);
  });

  it("lists jobs with their status, figures and a download link for finished audio", async () => {
    GET.mockImplementation(() => answer(page([
      job(),
      job({ job_id: "job_2", status: "running", finished_at: null, audio_seconds: null, audio_url: null }),
      job({ job_id: "job_3", status: "failed", error: { code: "engine_error", detail: "boom" }, audio_url: null }),
    ])));
    renderPage();
    expect(await screen.findByText("Succeeded", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.getByText("Running", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.getByText("Failed", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.getByText("engine_error")).toBeInTheDocument();
    expect(screen.getAllByText("1,234")).toHaveLength(3);
    const download = screen.getByRole("link", { name: "Download the audio of job job_1" });
    expect(download).toHaveAttribute("href", "/account/jobs/job_1/audio");
    expect(download).toHaveAttribute("download");
    expect(screen.getByRole("progressbar", { name: "Progress of job job_2" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent(/Live/);
    expect(GET).toHaveBeenCalledWith("/account/jobs", { params: { query: { limit: 20, offset: 0 } } });
  });

  it("asks again while a job runs, and stops once it has finished", async () => {
    let calls = 0;
    GET.mockImplementation(() => {
      calls += 1;
      return answer(page([job({ status: calls === 1 ? "running" : "succeeded" })]));
    });
    renderPage();
    expect(await screen.findByText("Running", { selector: ".badge" })).toBeInTheDocument();
    expect(await screen.findByText("Succeeded", { selector: ".badge" }, { timeout: 3500 })).toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(calls).toBe(2);
  }, 10_000);

  it("opens a job's details with its webhook deliveries and attempts", async () => {
    const deliveries: Delivery[] = [{
      webhook_id: "msg_1",
      event_type: "job.succeeded",
      url: "https://example.com/hooks",
      status: "succeeded",
      next_attempt_at: null,
      created_at: "2025-11-01T10:00:30Z",
      attempts: [
        { attempted_at: "2025-11-01T10:00:31Z", duration_ms: 120, status_code: 500, error: null },
        { attempted_at: "2025-11-01T10:00:40Z", duration_ms: 80, status_code: 204, error: null },
      ],
    }];
    const finished = job({ webhook_url: "https://example.com/hooks", metadata: { order: 7 } });
    GET.mockImplementation((path: string) => {
      if (path === "/account/jobs") return answer(page([finished]));
      if (path === "/account/jobs/{job_id}") return answer(finished);
      return answer(deliveries);
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Details of job job_1" }));
    const panel = await screen.findByRole("dialog", { name: "Job details" });
    expect(within(panel).getByRole("link", { name: "Download audio" })).toHaveAttribute("href", "/account/jobs/job_1/audio");
    expect(await within(panel).findByText("job.succeeded")).toBeInTheDocument();
    expect(within(panel).getByText("HTTP 500")).toBeInTheDocument();
    expect(within(panel).getByText("HTTP 204")).toBeInTheDocument();
    expect(within(panel).getByText(/"order": 7/)).toBeInTheDocument();
    expect(GET).toHaveBeenCalledWith("/account/jobs/{job_id}/webhooks", { params: { path: { job_id: "job_1" } } });
    await user.click(within(panel).getByRole("button", { name: "Close job details" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Job details" })).not.toBeInTheDocument());
  });

  it("opens the job named in route state", async () => {
    const queued = job({ job_id: "job_9", status: "queued", started_at: null, finished_at: null, audio_url: null });
    GET.mockImplementation((path: string) => {
      if (path === "/account/jobs") return answer(page([]));
      if (path === "/account/jobs/{job_id}") return answer(queued);
      return answer([]);
    });
    renderPage({ pathname: "/jobs", state: { jobId: "job_9" } });
    const panel = await screen.findByRole("dialog", { name: "Job details" });
    expect(await within(panel).findByText("Queued", { selector: ".badge" })).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Cancel job" })).toBeInTheDocument();
  });

  it("cancels a queued job only after confirming", async () => {
    const queued = job({ status: "queued", started_at: null, finished_at: null, audio_url: null });
    let current = queued;
    GET.mockImplementation((path: string) => {
      if (path === "/account/jobs") return answer(page([current]));
      if (path === "/account/jobs/{job_id}") return answer(current);
      return answer([]);
    });
    POST.mockImplementation(() => {
      current = { ...queued, status: "canceled", finished_at: "2025-11-01T10:01:00Z" };
      return answer(current);
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Cancel job job_1" }));
    const confirm = await screen.findByRole("dialog", { name: "Cancel this job?" });
    expect(POST).not.toHaveBeenCalled();
    await user.click(within(confirm).getByRole("button", { name: "Cancel job" }));
    expect(POST).toHaveBeenCalledWith("/account/jobs/{job_id}/cancel", { params: { path: { job_id: "job_1" } } });
    expect(await screen.findByText("Canceled", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel job job_1" })).not.toBeInTheDocument();
  });

  it("shows the server's error when the list cannot load", async () => {
    GET.mockImplementation(() => answer({ detail: "database unavailable", code: "database_unavailable" }, 503));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("database unavailable");
  });
});
