// "Docs": the quick start a new user follows from a key to speech, streams, Python, the OpenAI
// SDK and jobs with webhooks. Every example names this server (the page's origin) and reads the
// key from the VOCALIS_API_KEY environment variable; the full reference is the server's /docs.
import { type ReactNode, useMemo } from "react";
import { Link } from "react-router-dom";
import { ErrorNotice } from "../components/ErrorNotice";
import { Card, PageHeader, Skeleton } from "../components/ui";
import { CodeBlock, CodeTabs } from "../lib/codeBlocks";
import {
  EXAMPLE_TEXT,
  curlSnippet,
  exportKeySnippet,
  jobSnippet,
  listVoicesSnippet,
  openAiSnippet,
  pythonRequestsSnippet,
  streamToPlayerSnippet,
  webhookVerifySnippet,
} from "../lib/snippets";
import { languageName, sortVoices, useVoices } from "../lib/voiceCatalog";
import "./Quickstart.css";

function Step({ number, id, title, children }: { number: number; id: string; title: string; children: ReactNode }) {
  return (
    <li className="qs-step" aria-labelledby={`${id}-title`}>
      <Card>
        <div className="qs-step-head">
          <span className="qs-step-number" aria-hidden="true">{number}</span>
          <h2 id={`${id}-title`}>{title}</h2>
        </div>
        <div className="qs-step-body">{children}</div>
      </Card>
    </li>
  );
}

const RESPONSE_HEADERS: [string, string][] = [
  ["X-Characters", "Characters billed for the request"],
  ["X-Audio-Duration-Ms", "Length of the audio"],
  ["X-Processing-Time-Ms", "Time the server spent on it"],
  ["X-Quota-Characters-Remaining", "Characters left this period"],
  ["X-Quota-Seconds-Remaining", "Seconds of audio left this period"],
  ["X-Cache", "HIT when the same request was answered from the cache"],
  ["X-Voice", "The voice that spoke"],
];

const ERRORS: [string, string][] = [
  ["401", "No usable key: missing_api_key, invalid_api_key, revoked_api_key, expired_api_key"],
  ["403", "The key may not do this: insufficient_scope, voice_not_allowed, ip_not_allowed"],
  ["422", "A value cannot be used: empty_text, text_too_long, unknown_voice, …"],
  ["429", "rate_limited (wait Retry-After seconds) or quota_exceeded (the body has your figures and reset time)"],
  ["503", "Busy or starting up: retry after Retry-After seconds"],
];

export function Quickstart() {
  const origin = window.location.origin;
  const voices = useVoices();
  const voice = voices.data?.default ?? null;

  const snippets = useMemo(() => {
    const file = { origin, text: EXAMPLE_TEXT, voice, format: "wav" as const };
    const python = { origin, text: EXAMPLE_TEXT, voice, format: "mp3" as const };
    const stream = { ...python, stream: true };
    return {
      curl: curlSnippet(file),
      streamTabs: [
        { id: "curl-stream", label: "curl", code: streamToPlayerSnippet(origin, voice) },
        { id: "python-stream", label: "Python", code: pythonRequestsSnippet(stream) },
        { id: "openai-stream", label: "OpenAI SDK", code: openAiSnippet(stream) },
      ],
      pythonTabs: [
        { id: "python", label: "Python (requests)", code: pythonRequestsSnippet(python) },
        { id: "openai", label: "OpenAI SDK", code: openAiSnippet(python) },
      ],
      job: jobSnippet(origin, voice),
    };
  }, [origin, voice]);

  return (
    <>
      <PageHeader
        title="Quick start"
        description={
          <>
            From zero to speech in a few minutes. Every example runs against this server,{" "}
            <span className="mono">{origin}</span>.
          </>
        }
        actions={<a className="button button-secondary" href="/docs">Full API reference</a>}
      />

      <ol className="qs-steps">
        <Step number={1} id="qs-key" title="Create an API key">
          <p>
            API requests authenticate with a key. Create one on the <Link to="/keys">API keys</Link> page: it is shown
            once, so copy it, then keep it out of your code in an environment variable.
          </p>
          <p>
            <Link className="button button-primary" to="/keys">Create an API key</Link>
          </p>
          <CodeBlock label="Shell: store the key" code={exportKeySnippet()} />
          <p className="hint">
            Send it as <code>Authorization: Bearer …</code> (or <code>X-API-Key: …</code>). Never put a key in a web page
            or an app you ship: call the API from your server.
          </p>
        </Step>

        <Step number={2} id="qs-first" title="Make your first request">
          <p>
            <code>POST /v1/tts</code> returns the audio file. This saves a WAV; set <code>"format"</code> to{" "}
            <code>mp3</code>, <code>opus</code>, <code>aac</code>, <code>flac</code> or <code>pcm</code> for another.
          </p>
          <CodeBlock label="curl example" code={snippets.curl} testId="quickstart-curl" />
          <details className="qs-details">
            <summary>What the response headers tell you</summary>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Header</th>
                    <th scope="col">Meaning</th>
                  </tr>
                </thead>
                <tbody>
                  {RESPONSE_HEADERS.map(([name, meaning]) => (
                    <tr key={name}>
                      <td className="mono">{name}</td>
                      <td>{meaning}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
          <p className="hint">
            Want to hear voices first? Try them in the <Link to="/playground">playground</Link>.
          </p>
        </Step>

        <Step number={3} id="qs-stream" title="Stream long texts">
          <p>
            <code>POST /v1/tts/stream</code> takes the same body and sends the audio sentence by sentence, so playback
            starts before the whole text is spoken. Hanging up stops the synthesis, and you pay only for what was
            produced.
          </p>
          <CodeTabs tabs={snippets.streamTabs} label="Streaming examples" />
        </Step>

        <Step number={4} id="qs-python" title="Call it from Python">
          <p>
            With <code>requests</code>, or with the official OpenAI SDK pointed at this server: its{" "}
            <code>audio.speech.create</code> works unchanged, with OpenAI's voice names (<code>alloy</code>,{" "}
            <code>nova</code>, …) or any voice id of this server.
          </p>
          <CodeTabs tabs={snippets.pythonTabs} label="Python examples" />
        </Step>

        <Step number={5} id="qs-jobs" title="Queue a job and get a webhook">
          <p>
            For texts up to 100,000 characters, or when you would rather not wait, queue a job with{" "}
            <code>POST /v1/tts/jobs</code>. It answers <code>202</code> at once; with a <code>webhook_url</code>, your
            endpoint receives <code>job.succeeded</code> (or <code>job.failed</code>) when it ends. Follow them on the{" "}
            <Link to="/jobs">Jobs</Link> page.
          </p>
          <CodeBlock label="Job with a webhook (curl)" code={snippets.job} />
          <p>
            Webhooks are signed the <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> way. Verify each one
            with your signing secret from the <Link to="/webhooks">Webhooks</Link> page:
          </p>
          <CodeBlock label="Verify a webhook (Python)" code={webhookVerifySnippet()} />
        </Step>

        <Step number={6} id="qs-voices" title="Pick a voice">
          <p>
            Leave <code>"voice"</code> out to use the server's default, or pass one of these ids. The list is public:
          </p>
          <CodeBlock label="List voices (curl)" code={listVoicesSnippet(origin)} />
          <VoiceTable voices={voices} />
        </Step>
      </ol>

      <Card title="Errors and limits">
        <p>
          Errors are JSON: <code>{'{"detail": "…", "code": "…"}'}</code>. Branch on <code>code</code>; show{" "}
          <code>detail</code> to people.
        </p>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">What it means</th>
              </tr>
            </thead>
            <tbody>
              {ERRORS.map(([status, meaning]) => (
                <tr key={status}>
                  <td className="mono">{status}</td>
                  <td>{meaning}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="qs-reference">
          Every endpoint, field and error is in the <a href="/docs">full API reference</a>.
        </p>
      </Card>
    </>
  );
}

function VoiceTable({ voices }: { voices: ReturnType<typeof useVoices> }) {
  if (voices.isPending) return <Skeleton lines={4} />;
  if (voices.isError) return <ErrorNotice error={voices.error} onRetry={() => void voices.refetch()} />;
  const list = sortVoices(voices.data.voices);
  if (list.length === 0) {
    return <p className="muted">No voices are installed on this server yet.</p>;
  }
  return (
    <div className="table-wrap qs-voices">
      <table>
        <caption className="visually-hidden">Voices on this server</caption>
        <thead>
          <tr>
            <th scope="col">Voice id</th>
            <th scope="col">Name</th>
            <th scope="col">Language</th>
          </tr>
        </thead>
        <tbody>
          {list.map((item) => (
            <tr key={item.id}>
              <td className="mono">
                {item.id}
                {item.id === voices.data.default ? <span className="muted"> (default)</span> : null}
              </td>
              <td>{item.name}</td>
              <td>{languageName(item.language)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
