// Webhooks: the account's signing secret (hidden until asked for, rotated with an overlap), how a
// receiver verifies what Vocalis sends (Standard Webhooks), and a test delivery to any endpoint.
// The secret is held in this page's component state only: never in storage, never in a cache
// that outlives the page.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNotice } from "../components/ErrorNotice";
import { Badge, Button, Card, ConfirmDialog, CopyButton, Field, PageHeader, Skeleton } from "../components/ui";
import { formatDateTime, formatInteger, formatRelative } from "../lib/format";
import "./Webhooks.css";

type SigningSecret = components["schemas"]["SigningSecret"];

/** What POST /account/webhooks/test answers: how one signed test delivery went. */
export type TestDelivery = components["schemas"]["WebhookTestOut"];

/** POST /account/webhooks/test {url}: one signed `webhook.test` event, sent now, never retried. */
export async function sendTestEvent(url: string): Promise<TestDelivery> {
  return unwrap(api.POST("/account/webhooks/test", { body: { url } }));
}

export const SECRET_MASK = `whsec_${"•".repeat(32)}`;
export const SECRET_ENV = "VOCALIS_WEBHOOK_SECRET";

/** Why a URL cannot receive webhooks, or null when it looks fine (the server checks the rest). */
export function validateWebhookUrl(value: string): string | null {
  const text = value.trim();
  if (!text) return "Enter the URL of your webhook endpoint.";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Enter a full URL, starting with https:// (or http://).";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "Webhook URLs start with https:// or http://.";
  if (!url.hostname) return "The URL needs a host name.";
  return null;
}

/** How a test delivery went, in words. */
export function describeTestResult(result: Omit<TestDelivery, "event_id">): { tone: "success" | "warning" | "error"; title: string; detail: string } {
  const took = `${formatInteger(result.duration_ms)} ms`;
  if (result.delivered) {
    return {
      tone: "success",
      title: "Delivered",
      detail: `Your endpoint answered${result.status_code !== null ? ` HTTP ${result.status_code}` : ""} in ${took}.`,
    };
  }
  if (result.status_code !== null) {
    return {
      tone: "warning",
      title: `Your endpoint answered HTTP ${result.status_code}`,
      detail: `After ${took}. Only a 2xx answer counts as delivered: a real event would be retried.${
        result.error && !result.error.includes(String(result.status_code)) ? ` ${result.error}` : ""}`,
    };
  }
  return {
    tone: "error",
    title: "Not delivered",
    detail: `${result.error ?? "No answer came back."} (after ${took})`,
  };
}

export const VERIFY_SNIPPET = `import os
from standardwebhooks import Webhook, WebhookVerificationError  # pip install standardwebhooks

webhook = Webhook(os.environ["${SECRET_ENV}"])  # whsec_…

def handle(body: bytes, headers: dict[str, str]) -> int:
    """Call with the raw request body (before any JSON parsing) and its headers."""
    try:
        event = webhook.verify(body, headers)  # webhook-id, webhook-timestamp, webhook-signature
    except WebhookVerificationError:
        return 400  # forged, altered, or older than 5 minutes: ignore it
    if event["type"] == "job.succeeded":
        print("audio ready:", event["data"]["audio_url"])
    return 204  # any 2xx within 15 s; retries repeat the same webhook-id: deduplicate on it
`;

const ENV_SNIPPET = `export ${SECRET_ENV}='whsec_…'   # the secret above, on your receiving server`;

type SecretState =
  | { status: "loading" }
  | { status: "error"; error: unknown }
  | { status: "ready"; value: SigningSecret };

/** The signing secret, in this component's state only. */
function useSigningSecret() {
  const [state, setState] = useState<SecretState>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    setState({ status: "loading" });
    unwrap(api.GET("/account/webhooks/secret")).then(
      (value) => { if (current) setState({ status: "ready", value }); },
      (error: unknown) => { if (current) setState({ status: "error", error }); },
    );
    return () => { current = false; };
  }, [attempt]);
  return {
    state,
    retry: () => setAttempt((count) => count + 1),
    replace: (value: SigningSecret) => setState({ status: "ready", value }),
  };
}

export function Webhooks() {
  return (
    <div className="wh-page">
      <PageHeader
        title="Webhooks"
        description="When a job ends, Vocalis posts a signed event to the job's webhook_url. Verify the signature with your signing secret before you trust it."
      />
      <div className="grid grid-2 wh-top">
        <SecretCard />
        <TestEventCard />
      </div>
      <VerifyCard />
      <DeliveryCard />
    </div>
  );
}

// --- signing secret -------------------------------------------------------------------------------

export function SecretCard() {
  const { state, retry, replace } = useSigningSecret();
  const [revealed, setRevealed] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [rotatedUntil, setRotatedUntil] = useState<string | null | undefined>(undefined);

  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST("/account/webhooks/secret/rotate")),
    onSuccess: (value) => {
      replace(value);
      setRevealed(false);
      setConfirming(false);
      setRotatedUntil(value.previous_valid_until ?? null);
    },
  });

  const value = state.status === "ready" ? state.value : null;
  const overlapUntil = value?.previous_valid_until && new Date(value.previous_valid_until) > new Date()
    ? value.previous_valid_until
    : null;

  return (
    <Card title="Signing secret" className="wh-card">
      <p className="muted small">
        Every webhook is signed with this secret. Keep it on your server only, for example in{" "}
        <code>{SECRET_ENV}</code>.
      </p>

      {state.status === "loading" ? (
        <div className="wh-secret-skeleton" aria-busy="true" aria-label="Loading the signing secret">
          <Skeleton height={18} />
          <div className="wh-gap-sm" />
          <Skeleton height={40} />
          <div className="wh-gap-sm" />
          <Skeleton height={38} />
        </div>
      ) : state.status === "error" ? (
        <ErrorNotice error={state.error} onRetry={retry} />
      ) : (
        <>
          <Field label="Secret" hint={revealed ? "Anyone with this secret can forge webhooks: do not share it." : "Hidden. Reveal it to read it, or copy it as it is."}>
            {(id, describedBy) => (
              <input
                id={id}
                aria-describedby={describedBy}
                className="mono wh-secret"
                readOnly
                spellCheck={false}
                autoComplete="off"
                value={revealed ? state.value.secret : SECRET_MASK}
                onFocus={(event) => { if (revealed) event.currentTarget.select(); }}
              />
            )}
          </Field>
          <div className="wh-actions">
            <Button variant="secondary" aria-pressed={revealed} onClick={() => setRevealed((shown) => !shown)}>
              {revealed ? "Hide" : "Reveal"}
            </Button>
            <CopyButton value={state.value.secret} label="Copy secret" />
            <Button variant="secondary" className="wh-rotate" onClick={() => { rotate.reset(); setConfirming(true); }}>
              Rotate secret
            </Button>
          </div>

          {rotatedUntil !== undefined ? (
            <div className="notice notice-success wh-notice" role="status">
              <p className="notice-title">New secret issued</p>
              <p>
                {rotatedUntil
                  ? `Webhooks now carry two signatures, one per secret, until ${formatDateTime(rotatedUntil)} (${formatRelative(rotatedUntil)}). Put the new secret on your receivers before then.`
                  : "Webhooks are signed with the new secret from now on."}
              </p>
            </div>
          ) : overlapUntil ? (
            <div className="notice notice-info wh-notice" role="status">
              <p className="notice-title">Rotation in progress</p>
              <p>
                The previous secret also signs every webhook until {formatDateTime(overlapUntil)} ({formatRelative(overlapUntil)}).
                Receivers still on it keep working until then.
              </p>
            </div>
          ) : null}
        </>
      )}

      <ConfirmDialog
        open={confirming}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        danger
        busy={rotate.isPending}
        onConfirm={() => rotate.mutate()}
        onCancel={() => setConfirming(false)}
      >
        <p>
          A new secret is made at once and signs every webhook from now on. The current secret keeps
          signing alongside it for an overlap period (24 hours unless your server is set up otherwise):
          until <code>previous_valid_until</code>, shown after you rotate, each webhook carries both
          signatures, so receivers verifying with either secret keep working.
        </p>
        <p>Update <code>{SECRET_ENV}</code> on your receivers before the overlap ends; after it, only the new secret signs.</p>
        {overlapUntil ? (
          <div className="notice notice-warning" role="status">
            A rotation is already in progress: rotating again retires the previous secret right away, so
            receivers still using it start rejecting webhooks now.
          </div>
        ) : null}
        {rotate.isError ? <ErrorNotice error={rotate.error} /> : null}
      </ConfirmDialog>
    </Card>
  );
}

// --- test event -----------------------------------------------------------------------------------

function TestEventCard() {
  const [url, setUrl] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const send = useMutation({ mutationFn: sendTestEvent });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const problem = validateWebhookUrl(url);
    setFieldError(problem);
    if (problem) return;
    send.mutate(url.trim(), {
      onError: (error) => {
        // A URL the server refuses (private address, bad scheme…) belongs next to the field.
        if (error instanceof ApiError && error.status === 422) setFieldError(error.message);
      },
    });
  }

  const refusedUrl = send.error instanceof ApiError && send.error.status === 422;
  const result = send.data ? describeTestResult(send.data) : null;

  return (
    <Card title="Send a test event" className="wh-card">
      <p className="muted small">
        Posts a signed <code>webhook.test</code> event to your endpoint, with the same headers as a
        real one, and shows what it answered. It is sent once, never retried (ten a minute at most).
      </p>
      <form onSubmit={onSubmit} noValidate>
        <Field label="Endpoint URL" hint="A public http(s) URL your server listens on." error={fieldError}>
          {(id, describedBy) => (
            <input
              id={id}
              aria-describedby={describedBy}
              aria-invalid={fieldError ? true : undefined}
              type="url"
              inputMode="url"
              autoComplete="url"
              spellCheck={false}
              placeholder="https://example.com/hooks/vocalis"
              value={url}
              onChange={(event) => {
                setUrl(event.target.value);
                if (fieldError) setFieldError(null);
              }}
            />
          )}
        </Field>
        <Button type="submit" busy={send.isPending}>Send test event</Button>
      </form>

      <div className="wh-result" aria-live="polite">
        {send.isError && !refusedUrl ? <ErrorNotice error={send.error} /> : null}
        {result && send.isSuccess ? (
          <div className={`notice notice-${result.tone}`}>
            <p className="notice-title">{result.title}</p>
            <p>{result.detail}</p>
            {send.data ? <p className="small muted wh-break">webhook-id: <span className="mono">{send.data.event_id}</span></p> : null}
          </div>
        ) : null}
      </div>
    </Card>
  );
}

// --- verification ---------------------------------------------------------------------------------

const HEADERS: { name: string; example: string; meaning: string }[] = [
  {
    name: "webhook-id",
    example: "msg_2xKq…",
    meaning: "The event's ID. The same on every retry of one event: deduplicate on it.",
  },
  {
    name: "webhook-timestamp",
    example: "1795258842",
    meaning: "When this attempt was signed, in Unix seconds. Reject events more than 5 minutes off.",
  },
  {
    name: "webhook-signature",
    example: "v1,K5oZfzN9…=",
    meaning: "Space-separated v1,<base64> signatures: two while a rotated secret overlaps. One match is enough.",
  },
];

function VerifyCard() {
  return (
    <Card title="Verify signatures" actions={<Badge tone="info">Standard Webhooks</Badge>}>
      <p>
        Vocalis follows <a href="https://www.standardwebhooks.com/" target="_blank" rel="noreferrer">Standard Webhooks</a>.
        Each event is a <code>POST</code> with a JSON body and three headers:
      </p>
      <div className="table-wrap">
        <table className="wh-headers">
          <thead>
            <tr>
              <th scope="col">Header</th>
              <th scope="col">Example</th>
              <th scope="col">What it means</th>
            </tr>
          </thead>
          <tbody>
            {HEADERS.map((header) => (
              <tr key={header.name}>
                <td><code>{header.name}</code></td>
                <td className="mono muted">{header.example}</td>
                <td>{header.meaning}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="wh-para">
        The signature is a base64 HMAC-SHA256 of <code>{"{webhook-id}.{webhook-timestamp}.{body}"}</code>, keyed
        with your secret. Verify against the raw body exactly as received: parsing and re-serializing
        the JSON first changes it. Any Standard Webhooks library does all of this; in Python:
      </p>
      <p className="muted small wh-snippet-label">Set the secret on your server</p>
      <pre className="code-block">{ENV_SNIPPET}</pre>
      <div className="wh-snippet-head">
        <span className="muted small">receiver.py</span>
        <CopyButton value={VERIFY_SNIPPET} label="Copy code" />
      </div>
      <pre className="code-block">{VERIFY_SNIPPET}</pre>
    </Card>
  );
}

const EVENTS: { type: string; when: string }[] = [
  { type: "job.succeeded", when: "The audio is ready: data.audio_url downloads it with your API key." },
  { type: "job.failed", when: "The job could not be synthesized: data.error says why; its characters are refunded." },
  { type: "job.canceled", when: "The job was canceled before it finished; its characters are refunded." },
  { type: "webhook.test", when: "Sent only by “Send a test event” above, to check your receiver." },
];

function DeliveryCard() {
  return (
    <Card title="Events and delivery">
      <p>
        There is no endpoint to register: set <code>webhook_url</code> on each{" "}
        <code>POST /v1/tts/jobs</code> (or <code>/v1/tts/batch</code>) request, and that job's end is
        announced there. The body is <code>{'{"type", "timestamp", "data"}'}</code>, where{" "}
        <code>data</code> is the job exactly as <code>GET /v1/tts/jobs/{"{id}"}</code> returns it.
      </p>
      <ul className="wh-events">
        {EVENTS.map((event) => (
          <li key={event.type}>
            <code>{event.type}</code>
            <span>{event.when}</span>
          </li>
        ))}
      </ul>
      <ul className="wh-rules muted small">
        <li>Answer with any 2xx within the server's timeout (15 seconds by default). Anything else, a redirect included, counts as a failure and is retried with backoff (by default for about three days), each time freshly signed.</li>
        <li>Answer <code>410 Gone</code> to stop all pending deliveries to that URL.</li>
        <li>Webhook URLs must resolve to public addresses: loopback, private and link-local ones are refused (a development server may allow private ones).</li>
        <li>Every attempt, with the status your endpoint answered, is listed in the job's details on the <Link to="/jobs">Jobs</Link> page.</li>
      </ul>
    </Card>
  );
}
