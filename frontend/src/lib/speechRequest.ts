// One playground request: POST /account/tts (the whole file) or /account/tts/stream (long texts,
// sentence by sentence), through the typed client so the CSRF header is added for us. An MP3
// stream starts playing while it arrives (Media Source Extensions, fed from the body's reader);
// any other format, or a browser without MSE, takes the stream's body whole (a native read, no
// JavaScript reader). Either way the result is a playable blob: URL and a downloadable one.
import { ApiError, api } from "../api/client";
import type { components } from "../api/schema";
import {
  type AudioFormat,
  type ObjectUrls,
  type RequestCost,
  bytesToBlob,
  concatBytes,
  fixStreamedWav,
  formatOption,
  pcmToWav,
  readCost,
} from "./ttsAudio";

export type SpeechBody = components["schemas"]["SpeechRequest"];

/** Texts longer than this go through the streaming route. */
export const STREAM_FROM_CHARS = 400;

export type SpeechResult = {
  /** What `<audio>` plays: the file, a WAV made from raw PCM, or the MediaSource it streamed into. */
  playbackUrl: string;
  /** The file as the server sent it. */
  downloadUrl: string;
  mime: string;
  bytes: number;
  cost: RequestCost;
  streamed: boolean;
  /** Played while it arrived (MediaSource). */
  playedWhileStreaming: boolean;
  /** Milliseconds from the request to its first audio byte: only measured when played while
   * streaming (otherwise the whole body is read at once). */
  firstByteMs: number | null;
  /** Milliseconds from the request to the complete file. */
  totalMs: number;
  /** The stream stopped early (Stop, or the connection ended): this is what arrived. */
  partial: boolean;
};

export type SpeechHooks = {
  signal?: AbortSignal;
  /** Headers are in: the request was accepted and audio is coming. */
  onHeaders?: (cost: RequestCost) => void;
  /** A MediaSource URL to put on the `<audio>` element now, so playback starts with the stream. */
  onStreamUrl?: (url: string) => void;
  /** Bytes received so far. */
  onProgress?: (bytes: number) => void;
  /** For tests: whether MSE may be used (default: when the browser supports the format). */
  mediaSource?: boolean;
};

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException ? error.name === "AbortError" : (error as { name?: string } | null)?.name === "AbortError";
}

/** The MIME type MSE would play this format as, if the browser can (MP3 only: the others'
 * containers, Ogg and ADTS/WAV/FLAC, have no MSE byte-stream format worth relying on). */
export function mediaSourceMime(format: AudioFormat): string | null {
  if (format !== "mp3") return null;
  const MediaSourceClass = typeof globalThis.MediaSource === "function" ? globalThis.MediaSource : undefined;
  if (!MediaSourceClass || typeof MediaSourceClass.isTypeSupported !== "function") return null;
  return MediaSourceClass.isTypeSupported("audio/mpeg") ? "audio/mpeg" : null;
}

function failed(response: Response, error: unknown): ApiError {
  return new ApiError(response.status, error, response.headers.get("Retry-After"));
}

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}

/** Playable and downloadable URLs for a complete body. */
function finish(bytes: Uint8Array, body: SpeechBody, cost: RequestCost, urls: ObjectUrls, streamed: boolean) {
  const mime = formatOption(body.format).mime;
  // The file to keep: a streamed WAV gets its real sizes written in.
  const file = streamed && body.format === "wav" ? fixStreamedWav(bytes) : bytes;
  const downloadUrl = urls.create(bytesToBlob(file, mime));
  if (body.format !== "pcm") return { downloadUrl, playbackUrl: downloadUrl, mime };
  // Raw samples have no header: play them as a WAV, download them as they came.
  const playbackUrl = urls.create(bytesToBlob(pcmToWav(bytes, cost.sampleRate ?? 22050), "audio/wav"));
  return { downloadUrl, playbackUrl, mime };
}

/** The whole body in one read: the file route, or a stream this browser cannot play as it
 * arrives (the server still starts sooner and stops when we hang up). */
async function speakFile(
  body: SpeechBody,
  urls: ObjectUrls,
  hooks: SpeechHooks,
  route: "/account/tts" | "/account/tts/stream" = "/account/tts",
): Promise<SpeechResult> {
  const started = now();
  const { data, error, response } = await api.POST(route, { body, parseAs: "blob", signal: hooks.signal });
  if (!response.ok || error !== undefined || !data) throw failed(response, error);
  const cost = readCost(response.headers);
  hooks.onHeaders?.(cost);
  const bytes = new Uint8Array(await (data as Blob).arrayBuffer());
  hooks.onProgress?.(bytes.length);
  const elapsed = now() - started;
  return {
    ...finish(bytes, body, cost, urls, route !== "/account/tts"),
    bytes: bytes.length,
    cost,
    streamed: route !== "/account/tts",
    playedWhileStreaming: false,
    firstByteMs: null,
    totalMs: elapsed,
    partial: false,
  };
}

/** Feeds chunks to a MediaSource while they arrive; gives up quietly (and the caller falls back
 * to the whole file) on anything unexpected. */
class MediaSourceFeed {
  readonly url: string;
  private readonly source: MediaSource;
  private buffer: SourceBuffer | null = null;
  private readonly opened: Promise<boolean>;
  broken = false;

  constructor(private readonly mime: string, urls: ObjectUrls) {
    this.source = new MediaSource();
    this.url = urls.create(this.source);
    this.opened = new Promise((resolve) => {
      const timer = window.setTimeout(() => resolve(false), 10_000);
      this.source.addEventListener("sourceopen", () => {
        window.clearTimeout(timer);
        resolve(true);
      }, { once: true });
    });
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.broken) return;
    try {
      if (!this.buffer) {
        if (!(await this.opened) || this.source.readyState !== "open") {
          this.broken = true;
          return;
        }
        this.buffer = this.source.addSourceBuffer(this.mime);
      }
      await append(this.buffer, chunk);
    } catch {
      this.broken = true;
    }
  }

  /** Says the stream is complete; true when playback through the MediaSource is intact. */
  async end(): Promise<boolean> {
    if (this.broken || !this.buffer) return false;
    try {
      if (this.buffer.updating) await new Promise((resolve) => this.buffer?.addEventListener("updateend", resolve, { once: true }));
      if (this.source.readyState === "open") this.source.endOfStream();
      return true;
    } catch {
      return false;
    }
  }
}

function append(buffer: SourceBuffer, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = () => {
      cleanup();
      reject(new Error("could not append audio"));
    };
    const cleanup = () => {
      buffer.removeEventListener("updateend", done);
      buffer.removeEventListener("error", fail);
    };
    buffer.addEventListener("updateend", done);
    buffer.addEventListener("error", fail);
    try {
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      buffer.appendBuffer(copy.buffer);
    } catch (error) {
      cleanup();
      reject(error);
    }
  });
}

/** Sentence by sentence into a MediaSource, so playback starts with the first one. */
async function speakStream(body: SpeechBody, mime: string, urls: ObjectUrls, hooks: SpeechHooks): Promise<SpeechResult> {
  const started = now();
  const { data, error, response } = await api.POST("/account/tts/stream", { body, parseAs: "stream", signal: hooks.signal });
  if (!response.ok || error !== undefined || !data) throw failed(response, error);
  const cost = readCost(response.headers);
  hooks.onHeaders?.(cost);

  const feed = new MediaSourceFeed(mime, urls);
  hooks.onStreamUrl?.(feed.url);

  const reader = (data as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  let firstByteMs: number | null = null;
  let partial = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!value || value.length === 0) continue;
      firstByteMs ??= now() - started;
      chunks.push(value);
      received += value.length;
      hooks.onProgress?.(received);
      await feed.push(value);
    }
  } catch (readError) {
    // Stopped by the person, or the connection ended mid-way: keep what came, if anything.
    if (chunks.length === 0) {
      urls.revoke(feed.url);
      throw readError;
    }
    partial = true;
  } finally {
    reader.releaseLock();
  }

  const bytes = concatBytes(chunks);
  const streamedOk = await feed.end();
  const complete = finish(bytes, body, cost, urls, true);
  if (!streamedOk) urls.revoke(feed.url); // the MediaSource gave up: play the file instead
  return {
    ...complete,
    playbackUrl: streamedOk ? feed.url : complete.playbackUrl,
    bytes: bytes.length,
    cost,
    streamed: true,
    playedWhileStreaming: streamedOk,
    firstByteMs,
    totalMs: now() - started,
    partial,
  };
}

/** Speak `body` as the logged-in person; the URLs it makes belong to `urls`. Throws an
 * `ApiError` for the server's refusals and an AbortError when stopped before any audio. */
export function speak(body: SpeechBody, urls: ObjectUrls, hooks: SpeechHooks & { stream?: boolean } = {}): Promise<SpeechResult> {
  if (!hooks.stream) return speakFile(body, urls, hooks);
  const mime = hooks.mediaSource === false ? null : mediaSourceMime(body.format);
  return mime ? speakStream(body, mime, urls, hooks) : speakFile(body, urls, hooks, "/account/tts/stream");
}
