// The playground: type, pick a voice, hear it. Requests go through the session (POST
// /account/tts, or /account/tts/stream for long texts) and are billed like API calls; the page
// shows what each one cost and the same request as code to copy.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useCallback, useDeferredValue, useEffect, useId, useMemo, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Badge, Button, Card, EmptyState, Field, PageHeader, Skeleton } from "../components/ui";
import { DEFAULT_MAX_TEXT_CHARS, characterBudget, countCharacters, fetchMaxTextChars } from "../lib/charCounter";
import { CodeTabs } from "../lib/codeBlocks";
import { formatDateTime, formatInteger, formatSeconds } from "../lib/format";
import { useSession } from "../lib/session";
import { curlSnippet, openAiSnippet, pythonRequestsSnippet, audioFileName } from "../lib/snippets";
import { STREAM_FROM_CHARS, type SpeechResult, isAbort, mediaSourceMime, speak } from "../lib/speechRequest";
import { type AudioFormat, ObjectUrls, PLAYGROUND_FORMATS, type RequestCost, browserCanPlay, formatOption } from "../lib/ttsAudio";
import { type Voice, languageName, previewSentence, sortVoices, useVoices, voiceLabel } from "../lib/voiceCatalog";
import "./Playground.css";

const QUOTA_KEY = ["account", "quota"] as const;

const SAMPLE_TEXT =
  "Welcome to Vocalis. Type or paste any text here, choose a voice, and press Generate to hear it. " +
  "Numbers like $3.50 or 12 May 2025 are read out in words.";

const MIN_SPEED = 0.5;
const MAX_SPEED = 2;

type Run = {
  streamed: boolean;
  bytes: number;
  /** A MediaSource URL playing while the stream arrives. */
  liveUrl: string | null;
  cost: RequestCost | null;
};

type Result = SpeechResult & { fileName: string; format: AudioFormat; finishedAt: number };

/** Queries that show usage or quota, whichever page made them: refreshed after each request. */
function isUsageQuery(key: readonly unknown[]): boolean {
  return key.some((part) => typeof part === "string" && /quota|usage/i.test(part));
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : formatSeconds(ms / 1000);
}

export function Playground() {
  const session = useSession();
  const voices = useVoices();
  const quota = useQuery({ queryKey: QUOTA_KEY, queryFn: () => unwrap(api.GET("/account/quota")) });
  const serverMax = useQuery({
    queryKey: ["openapi", "max-text-chars"],
    queryFn: fetchMaxTextChars,
    staleTime: Infinity,
    gcTime: Infinity,
    retry: false,
  });
  const queryClient = useQueryClient();

  const [text, setText] = useState(SAMPLE_TEXT);
  const [chosenVoice, setChosenVoice] = useState<string | null>(null);
  const [speed, setSpeed] = useState(1);
  const [format, setFormat] = useState<AudioFormat>("mp3");
  const [learnedMax, setLearnedMax] = useState<number | null>(null);

  const [run, setRun] = useState<Run | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [measuredMs, setMeasuredMs] = useState<number | null>(null);

  const resultUrls = useRef<ObjectUrls | null>(null);
  const controller = useRef<AbortController | null>(null);
  const audioRef = useRef<HTMLAudioElement | null>(null);

  const sortedVoices = useMemo(() => sortVoices(voices.data?.voices ?? []), [voices.data]);
  const voiceId = chosenVoice ?? voices.data?.default ?? null;
  const voice: Voice | null = sortedVoices.find((item) => item.id === voiceId) ?? null;

  const max = learnedMax ?? serverMax.data ?? DEFAULT_MAX_TEXT_CHARS;
  const count = countCharacters(text);
  const remaining = quota.data ? quota.data.characters.remaining : undefined;
  const budget = characterBudget(count, max, remaining);
  const secondsLeft = quota.data?.seconds.remaining;
  const empty = text.trim() === "";
  const streaming = count > STREAM_FROM_CHARS;
  const streamsLive = streaming && mediaSourceMime(format) !== null;
  const working = run !== null;

  // Everything this page made goes with it: requests stopped, blob: URLs revoked.
  useEffect(() => () => {
    controller.current?.abort();
    resultUrls.current?.revokeAll();
    resultUrls.current = null;
  }, []);

  const refreshUsage = useCallback(() => {
    void queryClient.invalidateQueries({ predicate: (query) => isUsageQuery(query.queryKey) });
  }, [queryClient]);

  const generate = async () => {
    if (empty || budget.overMax || controller.current) return; // one request at a time: Stop first
    const abort = new AbortController();
    controller.current = abort;
    resultUrls.current?.revokeAll();
    const urls = new ObjectUrls();
    resultUrls.current = urls;
    const current = () => resultUrls.current === urls;

    setResult(null);
    setError(null);
    setNotice(null);
    setMeasuredMs(null);
    setRun({ streamed: streaming, bytes: 0, liveUrl: null, cost: null });
    const body = { text, voice: voiceId, speed, format };
    try {
      const spoken = await speak(body, urls, {
        stream: streaming,
        signal: abort.signal,
        onHeaders: (cost) => current() && setRun((state) => (state ? { ...state, cost } : state)),
        onStreamUrl: (liveUrl) => current() && setRun((state) => (state ? { ...state, liveUrl } : state)),
        onProgress: (bytes) => current() && setRun((state) => (state ? { ...state, bytes } : state)),
      });
      if (!current()) {
        urls.revokeAll(); // replaced by a newer request meanwhile
        return;
      }
      setResult({ ...spoken, format, fileName: audioFileName(spoken.cost.voice ?? voiceId, format), finishedAt: Date.now() });
      if (spoken.partial) {
        setNotice(
          abort.signal.aborted
            ? "Stopped. This is the audio that arrived; only what was produced is charged."
            : "The stream ended early. This is the audio that arrived.",
        );
      }
    } catch (caught) {
      if (!current()) return;
      urls.revokeAll();
      if (isAbort(caught)) {
        setNotice(
          streaming
            ? "Stopped. You pay only for the audio produced before you stopped."
            : "Stopped before the audio was ready. Nothing is charged for it.",
        );
      } else {
        if (caught instanceof ApiError && caught.code === "text_too_long" && typeof caught.body.max_characters === "number") {
          setLearnedMax(caught.body.max_characters);
        }
        setError(caught);
      }
    } finally {
      if (current()) {
        setRun(null);
        if (controller.current === abort) controller.current = null;
      }
      refreshUsage();
    }
  };

  const stop = () => controller.current?.abort();

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void generate();
  };

  const playbackUrl = result?.playbackUrl ?? run?.liveUrl ?? null;
  const resultPlayable = result ? browserCanPlay(result.format === "pcm" ? "audio/wav" : formatOption(result.format).mime) : true;

  return (
    <>
      <PageHeader
        title="Playground"
        description="Hear any text in any voice on this server. Requests are billed to your account like API calls."
      />
      <form className="playground" onSubmit={onSubmit} noValidate>
        <Card className="playground-text">
          <TextInput
            text={text}
            onChange={setText}
            budget={budget}
            quotaState={quota.isPending ? "loading" : quota.isError ? "error" : "ready"}
            resetsAt={quota.data?.resets_at ?? null}
            onRetryQuota={() => void quota.refetch()}
            onSubmitShortcut={() => void generate()}
          />
          {quota.data && secondsLeft === 0 && quota.data.seconds.limit !== null ? (
            <p className="notice notice-warning">
              No audio time left this period: requests will be refused until it resets{" "}
              {formatDateTime(quota.data.resets_at)}. <Link to="/billing">Change plan</Link>
            </p>
          ) : null}
          <div className="playground-actions">
            <Button type="submit" busy={working} disabled={empty || budget.overMax}>
              Generate
            </Button>
            {working ? (
              <Button variant="secondary" onClick={stop}>
                Stop
              </Button>
            ) : null}
            <p className="hint playground-actions-hint">
              {streaming
                ? streamsLive
                  ? "Long text: streamed sentence by sentence, playing as it arrives."
                  : `Long text: streamed sentence by sentence.${format === "mp3" ? "" : " Choose MP3 to start hearing it while it streams."}`
                : "Ctrl+Enter (⌘+Enter) in the text box generates too."}
            </p>
          </div>
          {session.data && !session.data.email_verified ? (
            <p className="hint">
              Confirm your email address to use the playground: <Link to="/verify">resend the link</Link>.
            </p>
          ) : null}
          {error ? <SpeechError error={error} onRetry={() => void generate()} /> : null}
          {notice ? <p className="notice notice-info" role="status">{notice}</p> : null}
        </Card>

        <Card title="Settings" className="playground-settings">
          <VoicePicker
            voices={voices}
            sortedVoices={sortedVoices}
            voice={voice}
            voiceId={voiceId}
            defaultId={voices.data?.default ?? null}
            onChange={setChosenVoice}
            speed={speed}
            onUsage={refreshUsage}
          />
          <Field label="Speed" hint="1.0× is the voice's natural pace.">
            {(id, describedBy) => (
              <div className="speed-row">
                <input
                  id={id}
                  type="range"
                  min={MIN_SPEED}
                  max={MAX_SPEED}
                  step={0.05}
                  value={speed}
                  aria-describedby={describedBy}
                  aria-valuetext={`${speed.toFixed(2)} times`}
                  onChange={(event) => setSpeed(Number(event.target.value))}
                />
                <output htmlFor={id} className="speed-value mono">{speed.toFixed(2)}×</output>
                <button
                  type="button"
                  className="link-button small"
                  onClick={() => setSpeed(1)}
                  disabled={speed === 1}
                >
                  Reset
                </button>
              </div>
            )}
          </Field>
          <Field label="Format" hint={formatOption(format).hint}>
            {(id, describedBy) => (
              <select
                id={id}
                value={format}
                aria-describedby={describedBy}
                onChange={(event) => setFormat(event.target.value as AudioFormat)}
              >
                {PLAYGROUND_FORMATS.map((option) => (
                  <option key={option.value} value={option.value}>{option.label}</option>
                ))}
              </select>
            )}
          </Field>
        </Card>
      </form>

      <Card title="Result" className="playground-result">
        {playbackUrl ? (
          <div className="result-player">
            <audio
              ref={audioRef}
              key={playbackUrl}
              controls
              autoPlay
              src={playbackUrl}
              data-testid="playground-audio"
              aria-label="Generated speech"
              onDurationChange={(event) => {
                const seconds = event.currentTarget.duration;
                if (Number.isFinite(seconds) && seconds > 0) setMeasuredMs(seconds * 1000);
              }}
            />
            <div className="result-actions">
              {result ? (
                <a className="button button-secondary" href={result.downloadUrl} download={result.fileName}>
                  Download
                </a>
              ) : (
                <Button variant="secondary" disabled>Download</Button>
              )}
              <span className="muted small">
                {result
                  ? `${result.fileName} · ${formatBytes(result.bytes)}`
                  : `Streaming… ${formatBytes(run?.bytes ?? 0)} received`}
              </span>
            </div>
            {result && !resultPlayable ? (
              <p className="notice notice-warning">
                This browser cannot play {formatOption(result.format).label} audio. Download the file, or choose MP3 or WAV
                to listen here.
              </p>
            ) : null}
          </div>
        ) : working ? (
          <div className="result-player" aria-busy="true">
            <Skeleton height={54} />
            <p className="muted small result-progress" role="status">
              {run?.streamed
                ? run.bytes > 0
                  ? `Receiving audio… ${formatBytes(run.bytes)}`
                  : "Synthesizing sentence by sentence…"
                : "Synthesizing…"}
            </p>
          </div>
        ) : (
          <EmptyState title="Nothing generated yet">
            Press <strong>Generate</strong> to hear your text; the audio and what it cost appear here.
          </EmptyState>
        )}
        {result ? (
          <p className="visually-hidden" role="status">
            Audio ready{result.cost.audioMs ?? measuredMs ? `: ${formatSeconds((result.cost.audioMs ?? measuredMs ?? 0) / 1000)}` : ""}.
          </p>
        ) : null}
        {result || run?.cost ? (
          <CostPanel
            cost={result?.cost ?? run?.cost ?? null}
            result={result}
            measuredMs={measuredMs}
            quotaCharacters={quota.data?.characters.remaining}
            quotaSeconds={quota.data?.seconds.remaining}
            quotaFresh={result ? quota.dataUpdatedAt >= result.finishedAt : false}
          />
        ) : null}
      </Card>

      <Snippets text={text} voice={voiceId} speed={speed} format={format} stream={streaming} />
    </>
  );
}

// --- the text box and its counter ------------------------------------------------------------

function TextInput({
  text, onChange, budget, quotaState, resetsAt, onRetryQuota, onSubmitShortcut,
}: {
  text: string;
  onChange: (text: string) => void;
  budget: ReturnType<typeof characterBudget>;
  quotaState: "loading" | "error" | "ready";
  resetsAt: string | null;
  onRetryQuota: () => void;
  onSubmitShortcut: () => void;
}) {
  const counterId = useId();
  return (
    <Field label="Text">
      {(id, describedBy) => (
        <>
          <textarea
            id={id}
            className="playground-textarea"
            value={text}
            rows={9}
            spellCheck
            aria-describedby={[describedBy, counterId].filter(Boolean).join(" ")}
            aria-invalid={budget.overMax || undefined}
            placeholder="Type or paste what you want to hear…"
            onChange={(event) => onChange(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                onSubmitShortcut();
              }
            }}
          />
          <div id={counterId} className={`char-counter char-counter-${budget.tone}`} data-testid="char-counter">
            <span className="char-counter-figures mono" aria-label={`${budget.count} of ${budget.max} characters`}>
              {budget.summary}
            </span>
            <span className="char-counter-detail">
              {quotaState === "loading" ? (
                <span className="muted">Checking your allowance…</span>
              ) : quotaState === "error" && budget.remaining === undefined && !budget.overMax ? (
                <span className="muted">
                  Your allowance could not be loaded.{" "}
                  <button type="button" className="link-button" onClick={onRetryQuota}>Try again</button>
                </span>
              ) : (
                <>
                  {budget.detail}
                  {budget.overQuota && resetsAt ? ` It resets ${formatDateTime(resetsAt)}.` : null}
                  {budget.overQuota ? <> <Link to="/billing">Upgrade</Link></> : null}
                </>
              )}
            </span>
          </div>
        </>
      )}
    </Field>
  );
}

// --- voices ---------------------------------------------------------------------------------

function VoicePicker({
  voices, sortedVoices, voice, voiceId, defaultId, onChange, speed, onUsage,
}: {
  voices: ReturnType<typeof useVoices>;
  sortedVoices: Voice[];
  voice: Voice | null;
  voiceId: string | null;
  defaultId: string | null;
  onChange: (id: string) => void;
  speed: number;
  onUsage: () => void;
}) {
  const [previewing, setPreviewing] = useState<{ voice: string; status: "loading" | "playing" } | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const urls = useRef<ObjectUrls | null>(null);
  const cache = useRef(new Map<string, string>());
  const player = useRef<HTMLAudioElement | null>(null);
  const pending = useRef<AbortController | null>(null);

  useEffect(() => () => {
    pending.current?.abort();
    player.current?.pause();
    player.current = null;
    urls.current?.revokeAll();
    urls.current = null;
    cache.current.clear();
  }, []);

  const stopPreview = () => {
    pending.current?.abort();
    player.current?.pause();
    setPreviewing(null);
  };

  const preview = async () => {
    if (!voice) return;
    if (previewing) {
      stopPreview();
      return;
    }
    setPreviewError(null);
    const key = `${voice.id}@${speed}`;
    let url = cache.current.get(key);
    if (!url) {
      setPreviewing({ voice: voice.id, status: "loading" });
      const abort = new AbortController();
      pending.current = abort;
      urls.current ??= new ObjectUrls();
      try {
        const spoken = await speak(
          { text: previewSentence(voice.language), voice: voice.id, speed, format: "mp3" },
          urls.current,
          { signal: abort.signal },
        );
        url = spoken.playbackUrl;
        cache.current.set(key, url);
      } catch (caught) {
        if (!isAbort(caught)) setPreviewError(caught);
        setPreviewing(null);
        return;
      } finally {
        if (pending.current === abort) pending.current = null;
        onUsage();
      }
    }
    const audio = player.current ?? new Audio();
    player.current = audio;
    audio.onended = () => setPreviewing(null);
    audio.onerror = () => setPreviewing(null);
    audio.src = url;
    setPreviewing({ voice: voice.id, status: "playing" });
    try {
      await audio.play();
    } catch {
      setPreviewing(null);
    }
  };

  if (voices.isPending) {
    return (
      <div className="field" aria-busy="true">
        <span className="field-label-placeholder">Voice</span>
        <Skeleton height={38} />
        <Skeleton height={16} />
      </div>
    );
  }
  if (voices.isError) {
    return (
      <div className="field">
        <span className="field-label-placeholder">Voice</span>
        <ErrorNotice error={voices.error} onRetry={() => void voices.refetch()} />
      </div>
    );
  }
  if (sortedVoices.length === 0) {
    return (
      <div className="field">
        <span className="field-label-placeholder">Voice</span>
        <p className="notice notice-warning">
          This server has no voices installed yet. Requests use its default voice, if it has one.
        </p>
      </div>
    );
  }

  const busy = previewing?.status === "loading";
  const playing = previewing?.status === "playing";
  return (
    <>
      <Field
        label="Voice"
        hint={voice ? <VoiceDetails voice={voice} isDefault={voice.id === defaultId} /> : undefined}
      >
        {(id, describedBy) => (
          <div className="voice-row">
            <select
              id={id}
              value={voiceId ?? ""}
              aria-describedby={describedBy}
              onChange={(event) => {
                stopPreview();
                onChange(event.target.value);
              }}
            >
              {voiceId && !voice ? <option value={voiceId}>{voiceId}</option> : null}
              {sortedVoices.map((item) => (
                <option key={item.id} value={item.id}>
                  {voiceLabel(item)}{item.id === defaultId ? " (default)" : ""}
                </option>
              ))}
            </select>
            <Button
              variant="secondary"
              onClick={() => void preview()}
              busy={busy}
              disabled={!voice}
            >
              {playing ? "Stop preview" : "Preview"}
            </Button>
          </div>
        )}
      </Field>
      {previewError ? <SpeechError error={previewError} /> : null}
    </>
  );
}

function VoiceDetails({ voice, isDefault }: { voice: Voice; isDefault: boolean }) {
  const parts = [
    languageName(voice.language),
    `${(voice.sample_rate / 1000).toLocaleString("en-US", { maximumFractionDigits: 2 })} kHz`,
    voice.quality,
    voice.gender,
  ].filter(Boolean);
  return (
    <>
      <span className="mono">{voice.id}</span>
      {isDefault ? <> <Badge tone="info">default</Badge></> : null}
      <br />
      {parts.join(" · ")}. Preview reads one short sentence, billed like any request.
    </>
  );
}

// --- errors ---------------------------------------------------------------------------------

function SpeechError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error instanceof ApiError && error.code === "email_not_verified") {
    return (
      <div className="notice notice-warning" role="alert">
        <p className="notice-title">Confirm your email address first</p>
        <p>
          The playground speaks once your address is confirmed: open the link we emailed you.{" "}
          <Link to="/verify">Send the link again</Link>
        </p>
      </div>
    );
  }
  return <ErrorNotice error={error} onRetry={onRetry} />;
}

// --- what it cost -----------------------------------------------------------------------------

function remainingText(value: number | null | undefined, unit: "characters" | "seconds"): string {
  if (value === undefined) return "—";
  if (value === null || value === Infinity) return "No cap";
  return unit === "characters" ? formatInteger(value) : formatSeconds(value);
}

function CostPanel({
  cost, result, measuredMs, quotaCharacters, quotaSeconds, quotaFresh,
}: {
  cost: RequestCost | null;
  result: Result | null;
  measuredMs: number | null;
  quotaCharacters: number | null | undefined;
  quotaSeconds: number | null | undefined;
  /** The quota was read again after this request finished. */
  quotaFresh: boolean;
}) {
  const audioMs = cost?.audioMs ?? measuredMs;
  // A stream's headers leave before the audio exists: what is left then comes from the quota,
  // once it has been read again after the request.
  const charactersLeft = cost?.charactersRemaining ?? (quotaFresh ? quotaCharacters : undefined);
  const secondsLeft = cost?.secondsRemaining ?? (quotaFresh ? quotaSeconds : undefined);
  const timing = result?.playedWhileStreaming && result.firstByteMs !== null
    ? { label: "First audio after", value: formatMs(result.firstByteMs) }
    : cost?.processingMs !== null && cost?.processingMs !== undefined
      ? { label: "Processing time", value: formatMs(cost.processingMs) }
      : { label: "Total time", value: result ? formatMs(result.totalMs) : "—" };
  const items: { label: string; value: ReactNode }[] = [
    { label: "Characters billed", value: cost?.characters !== null && cost?.characters !== undefined ? formatInteger(cost.characters) : "—" },
    { label: "Audio length", value: audioMs !== null && audioMs !== undefined ? formatSeconds(audioMs / 1000) : "—" },
    timing,
    { label: "Characters left", value: remainingText(charactersLeft, "characters") },
    { label: "Audio left", value: remainingText(secondsLeft, "seconds") },
    {
      label: "Cache",
      value: cost?.cache ? (
        <Badge tone={cost.cache === "HIT" ? "success" : "neutral"}>{cost.cache}</Badge>
      ) : "—",
    },
    { label: "Voice", value: cost?.voice ? <span className="mono">{cost.voice}</span> : "—" },
  ];
  return (
    <section className="request-cost" aria-label="What this request cost">
      <h3 className="request-cost-title">This request</h3>
      <dl className="cost-grid" data-testid="request-cost">
        {items.map((item) => (
          <div key={item.label} className="cost-item">
            <dt>{item.label}</dt>
            <dd>{item.value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

// --- the same request as code -------------------------------------------------------------------

function Snippets({ text, voice, speed, format, stream }: { text: string; voice: string | null; speed: number; format: AudioFormat; stream: boolean }) {
  const deferredText = useDeferredValue(text);
  const origin = window.location.origin;
  const tabs = useMemo(() => {
    const request = { origin, text: deferredText || "Hello from Vocalis.", voice, speed, format, stream };
    return [
      { id: "curl", label: "curl", code: curlSnippet(request) },
      { id: "python", label: "Python", code: pythonRequestsSnippet(request) },
      { id: "openai", label: "OpenAI SDK", code: openAiSnippet(request) },
    ];
  }, [origin, deferredText, voice, speed, format, stream]);
  return (
    <Card title="Use it from code" className="playground-code">
      <p className="muted">
        The same request with an API key
        {stream ? ", streamed because the text is long" : ""}. Create a key on the{" "}
        <Link to="/keys">API keys</Link> page and export it as <code>VOCALIS_API_KEY</code>; the examples never contain it.
      </p>
      <CodeTabs tabs={tabs} label="Code examples" />
    </Card>
  );
}
