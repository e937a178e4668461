// Audio the playground receives: the formats it offers, what a response's headers say it cost,
// WAV fix-ups so a browser can play what it got, and the blob: URLs it plays from.
import type { components } from "../api/schema";

export type AudioFormat = components["schemas"]["AudioFormat"];

export type FormatOption = { value: AudioFormat; label: string; mime: string; hint: string };

/** What the playground offers: the schema's formats a browser can play (the 8 kHz telephony
 * ones, ulaw_8000 and alaw_8000, are for the API). PCM is played by wrapping it in a WAV header;
 * the download stays raw. */
export const PLAYGROUND_FORMATS: FormatOption[] = [
  { value: "mp3", label: "MP3", mime: "audio/mpeg", hint: "Small, plays everywhere, and starts playing while a long text streams." },
  { value: "wav", label: "WAV (16-bit PCM)", mime: "audio/wav", hint: "Uncompressed, the voice's own quality." },
  { value: "opus", label: "Opus (Ogg)", mime: "audio/ogg", hint: "The smallest files; always 48 kHz." },
  { value: "aac", label: "AAC", mime: "audio/aac", hint: "Compressed, for Apple devices and video." },
  { value: "flac", label: "FLAC", mime: "audio/flac", hint: "Lossless and about half the size of WAV." },
  { value: "pcm", label: "PCM (raw s16le)", mime: "audio/pcm", hint: "Raw 16-bit little-endian mono samples, no header." },
];

export function formatOption(format: AudioFormat): FormatOption {
  return PLAYGROUND_FORMATS.find((option) => option.value === format) ?? PLAYGROUND_FORMATS[0]!;
}

// --- what a request cost ----------------------------------------------------------------------

/** The response headers of POST /account/tts (a stream carries only some of them). */
export type RequestCost = {
  characters: number | null;
  audioMs: number | null;
  processingMs: number | null;
  /** Infinity: no cap. */
  charactersRemaining: number | null;
  secondsRemaining: number | null;
  cache: "HIT" | "MISS" | null;
  voice: string | null;
  sampleRate: number | null;
};

/** The server reports "no cap" as a remainder near 2^62: anything that large is unlimited. */
const UNLIMITED_FROM = 1e15;

function numberHeader(headers: Headers, name: string): number | null {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === "") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

function remainderHeader(headers: Headers, name: string): number | null {
  const value = numberHeader(headers, name);
  if (value === null) return null;
  return value >= UNLIMITED_FROM ? Infinity : value;
}

export function readCost(headers: Headers): RequestCost {
  const cache = headers.get("X-Cache")?.toUpperCase();
  return {
    characters: numberHeader(headers, "X-Characters"),
    audioMs: numberHeader(headers, "X-Audio-Duration-Ms"),
    processingMs: numberHeader(headers, "X-Processing-Time-Ms"),
    charactersRemaining: remainderHeader(headers, "X-Quota-Characters-Remaining"),
    secondsRemaining: remainderHeader(headers, "X-Quota-Seconds-Remaining"),
    cache: cache === "HIT" || cache === "MISS" ? cache : null,
    voice: headers.get("X-Voice") || null,
    sampleRate: numberHeader(headers, "X-Sample-Rate"),
  };
}

// --- WAV ------------------------------------------------------------------------------------

function tag(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset] ?? 0, bytes[offset + 1] ?? 0, bytes[offset + 2] ?? 0, bytes[offset + 3] ?? 0);
}

/** A streamed WAV's header says "length unknown" (it was written before the audio existed);
 * some browsers then show no duration or refuse to seek. Once the whole body is here, write the
 * real sizes into a copy. Anything that is not a RIFF/WAVE file comes back untouched. */
export function fixStreamedWav(input: Uint8Array): Uint8Array {
  if (input.length < 12 || tag(input, 0) !== "RIFF" || tag(input, 8) !== "WAVE") return input;
  const bytes = input.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(4, Math.min(bytes.length - 8, 0xffffffff), true);
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const size = view.getUint32(offset + 4, true);
    if (tag(bytes, offset) === "data") {
      view.setUint32(offset + 4, Math.min(bytes.length - offset - 8, 0xffffffff), true);
      break;
    }
    const next = offset + 8 + size + (size % 2);
    if (size === 0xffffffff || next <= offset) break;
    offset = next;
  }
  return bytes;
}

/** Raw 16-bit little-endian samples with a 44-byte WAV header in front, so `<audio>` plays them. */
export function pcmToWav(pcm: Uint8Array, sampleRate: number, channels = 1): Uint8Array {
  const bytesPerSample = 2;
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const write = (offset: number, text: string) => {
    for (let index = 0; index < text.length; index += 1) out[offset + index] = text.charCodeAt(index);
  };
  write(0, "RIFF");
  view.setUint32(4, 36 + pcm.length, true);
  write(8, "WAVE");
  write(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * bytesPerSample, true);
  view.setUint16(32, channels * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  write(36, "data");
  view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Bytes as a Blob (copied into a plain ArrayBuffer, which Blob's typing insists on). */
export function bytesToBlob(bytes: Uint8Array, type: string): Blob {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Blob([copy.buffer], { type });
}

// --- blob: URLs ---------------------------------------------------------------------------

/** The object URLs that belong to one result: made together, revoked together (when the result
 * is replaced or the page goes away), so nothing leaks. */
export class ObjectUrls {
  private readonly urls = new Set<string>();

  create(source: Blob | MediaSource): string {
    const url = URL.createObjectURL(source);
    this.urls.add(url);
    return url;
  }

  revoke(url: string): void {
    if (this.urls.delete(url)) URL.revokeObjectURL(url);
  }

  revokeAll(): void {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls.clear();
  }

  get size(): number {
    return this.urls.size;
  }
}

/** Whether this browser says it can play `mime` (""/false when it knows it cannot). */
export function browserCanPlay(mime: string): boolean {
  if (typeof document === "undefined") return true;
  const probe = document.createElement("audio");
  if (typeof probe.canPlayType !== "function") return true;
  const answer = probe.canPlayType(mime);
  // jsdom answers "" for everything: treat "not implemented" as "probably".
  return answer !== "" || navigator.userAgent.includes("jsdom");
}
