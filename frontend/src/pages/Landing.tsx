// The front page: what Vocalis is, a first request to copy, what comes with it, and the plans.
import { type KeyboardEvent, type ReactNode, useId, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { PlanCards, PlanLink } from "../components/PlanCards";
import { CopyButton } from "../components/ui";
import { useSession } from "../lib/session";
import "./Landing.css";

type Sample = { id: string; label: string; code: (origin: string) => string };

export const SAMPLES: Sample[] = [
  {
    id: "python",
    label: "Python",
    code: (origin) => `from openai import OpenAI

client = OpenAI(base_url="${origin}/v1", api_key="sk_live_…")

speech = client.audio.speech.create(
    model="tts-1", voice="alloy", input="Hello from Vocalis!"
)
speech.write_to_file("hello.mp3")`,
  },
  {
    id: "node",
    label: "Node.js",
    code: (origin) => `import fs from "node:fs/promises";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${origin}/v1", apiKey: process.env.VOCALIS_API_KEY });

const speech = await client.audio.speech.create({
  model: "tts-1", voice: "alloy", input: "Hello from Vocalis!",
});
await fs.writeFile("hello.mp3", Buffer.from(await speech.arrayBuffer()));`,
  },
  {
    id: "curl",
    label: "curl",
    code: (origin) => `curl -sN --fail-with-body -X POST ${origin}/v1/tts/stream \\
  -H "Authorization: Bearer $VOCALIS_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"text": "First sentence. Second sentence.", "format": "mp3"}' \\
  -o hello.mp3`,
  },
];

const FEATURES: { title: string; body: ReactNode; icon: ReactNode }[] = [
  {
    title: "Neural voices on your own server",
    body: "Natural speech from neural voices that run offline on your machine. Your text never leaves the server you control.",
    icon: <path d="M4 10v4M8 7v10M12 4v16M16 7v10M20 10v4" />,
  },
  {
    title: "OpenAI-compatible API",
    body: (
      <>
        Send OpenAI's speech request to <code>/v1/audio/speech</code>: the official SDKs work
        unchanged once their base URL points at your server.
      </>
    ),
    icon: <path d="M8 6l-5 6 5 6M16 6l5 6-5 6M14 4l-4 16" />,
  },
  {
    title: "Streaming",
    body: "Audio arrives as each sentence is spoken, so playback starts after the first one. WAV, MP3, Opus, AAC, FLAC and telephony formats.",
    icon: <path d="M3 12h4l3-7 4 14 3-7h4" />,
  },
  {
    title: "Jobs with webhooks",
    body: "Queue long texts and batches; a signed webhook tells your app when the audio is ready, and is retried if your endpoint is down.",
    icon: <path d="M12 3v4M12 17v4M4.9 4.9l2.8 2.8M16.3 16.3l2.8 2.8M3 12h4M17 12h4M4.9 19.1l2.8-2.8M16.3 7.7l2.8-2.8" />,
  },
];

export function Landing() {
  const session = useSession();
  const me = session.data;
  return (
    <div className="landing">
      <section className="hero landing-hero" aria-labelledby="landing-title">
        <p className="landing-eyebrow">Self-hosted text to speech</p>
        <h1 id="landing-title">Real neural speech, served from your own server</h1>
        <p>
          Vocalis is the speech API you run yourself: an OpenAI-compatible endpoint, streaming
          that starts talking after the first sentence, and background jobs that call your webhook
          when the audio is ready.
        </p>
        <div className="landing-cta">
          {me ? (
            <Link className="button button-primary landing-cta-main" to="/overview">Open your dashboard</Link>
          ) : (
            <Link className="button button-primary landing-cta-main" to="/signup">Sign up for free</Link>
          )}
          <a className="button button-secondary" href="/docs">Read the docs</a>
        </div>
      </section>

      <CodeSamples />

      <section className="landing-section" aria-labelledby="landing-features">
        <h2 id="landing-features" className="landing-heading">Everything a speech API needs</h2>
        <ul className="landing-features">
          {FEATURES.map((feature) => (
            <li key={feature.title} className="card landing-feature">
              <svg className="landing-icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
                {feature.icon}
              </svg>
              <h3>{feature.title}</h3>
              <p className="muted">{feature.body}</p>
            </li>
          ))}
        </ul>
      </section>

      <section className="landing-section" aria-labelledby="landing-plans">
        <div className="landing-section-head">
          <h2 id="landing-plans" className="landing-heading">Plans</h2>
          <p className="muted">Start free. Pay monthly for a bigger allowance, or only for what you use.</p>
        </div>
        <PlanCards
          currentPlanId={me?.plan}
          action={(plan, current) => <PlanLink plan={plan} current={current} loggedIn={Boolean(me)} />}
        />
        <p className="landing-more">
          <Link to="/pricing">Compare plans in detail</Link>
        </p>
      </section>
    </div>
  );
}

/** A first request in three languages, as tabs (arrow keys move between them). */
function CodeSamples() {
  const [selected, setSelected] = useState(0);
  const baseId = useId();
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const origin = typeof window === "undefined" ? "https://your-server" : window.location.origin;
  const sample = SAMPLES[selected] ?? SAMPLES[0]!;
  const code = sample.code(origin);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1 };
    let next: number | null = null;
    if (event.key in moves) next = (selected + (moves[event.key] ?? 0) + SAMPLES.length) % SAMPLES.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = SAMPLES.length - 1;
    if (next === null) return;
    event.preventDefault();
    setSelected(next);
    tabs.current[next]?.focus();
  }

  return (
    <section className="card landing-code" aria-labelledby={`${baseId}-title`}>
      <div className="card-head">
        <h2 id={`${baseId}-title`}>Your first request</h2>
        <CopyButton value={code} label="Copy code" />
      </div>
      <div className="tabs" role="tablist" aria-label="Language" onKeyDown={onKeyDown}>
        {SAMPLES.map((item, index) => (
          <button
            key={item.id}
            ref={(element) => {
              tabs.current[index] = element;
            }}
            type="button"
            role="tab"
            id={`${baseId}-tab-${item.id}`}
            aria-selected={index === selected}
            aria-controls={`${baseId}-panel`}
            tabIndex={index === selected ? 0 : -1}
            onClick={() => setSelected(index)}
          >
            {item.label}
          </button>
        ))}
      </div>
      <pre
        className="code-block"
        id={`${baseId}-panel`}
        role="tabpanel"
        aria-labelledby={`${baseId}-tab-${sample.id}`}
        tabIndex={0}
      >
        {code}
      </pre>
      <p className="small muted landing-code-note">
        {sample.id === "curl"
          ? "Streamed: the first sentence plays while the rest is still being spoken. "
          : "The official OpenAI SDK, unchanged: only the base URL points here. "}
        Create a key in the dashboard after you sign up; every voice on this server is listed at{" "}
        <code>GET /v1/voices</code>.
      </p>
    </section>
  );
}
