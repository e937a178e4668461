// Copyable code that does what the playground just did, against this server: curl, Python
// (requests) and the OpenAI Python SDK. The API key is always the `VOCALIS_API_KEY` environment
// variable, never a real key; the text is escaped for the string it lands in.

export const API_KEY_ENV = "VOCALIS_API_KEY";

/** The request as the API takes it (POST /v1/tts and /v1/tts/stream). */
export type SpeechSnippet = {
  /** The server's origin, e.g. `window.location.origin`. */
  origin: string;
  text: string;
  /** A voice id from GET /v1/voices; null/undefined: the server's default voice. */
  voice?: string | null;
  speed?: number;
  /** An AudioFormat value (wav, mp3, …); undefined: the server's default (wav). */
  format?: string;
  /** Use the streaming route (/v1/tts/stream) and read the body as it arrives. */
  stream?: boolean;
};

/** `https://host:8000/` → `https://host:8000`: paths are appended to it. */
export function baseUrl(origin: string): string {
  return origin.replace(/\/+$/, "");
}

/** A shell word in single quotes: nothing inside expands; a `'` becomes `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const PY_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A Python string literal in double quotes, safe for any text (controls and lone surrogates
 * escaped, everything else kept as typed: Python 3 source is UTF-8). */
export function pythonString(value: string): string {
  let out = '"';
  for (const char of value) {
    const escaped = PY_ESCAPES[char];
    if (escaped) {
      out += escaped;
      continue;
    }
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    } else if ((code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029) {
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else {
      out += char;
    }
  }
  return `${out}"`;
}

/** A speed as Python writes a float: 1 → "1.0", 1.25 → "1.25". */
export function pythonFloat(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}

/** The extension a format's file gets (the server's own names). */
export function extensionFor(format: string | undefined): string {
  switch (format) {
    case undefined:
      return "wav";
    case "ulaw_8000":
      return "ulaw";
    case "alaw_8000":
      return "alaw";
    default:
      return format;
  }
}

/** `vocalis-<voice>.<ext>`, with anything a file system dislikes in the voice id replaced. */
export function audioFileName(voice: string | null | undefined, format: string | undefined): string {
  const safeVoice = (voice ?? "speech").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "speech";
  return `vocalis-${safeVoice}.${extensionFor(format)}`;
}

/** The JSON body's fields, in the order people read them; the defaults left out. */
function bodyFields(request: SpeechSnippet): [string, string | number][] {
  const fields: [string, string | number][] = [["text", request.text]];
  if (request.voice) fields.push(["voice", request.voice]);
  if (request.speed !== undefined && Math.abs(request.speed - 1) > 1e-9) {
    fields.push(["speed", Math.round(request.speed * 100) / 100]);
  }
  if (request.format) fields.push(["format", request.format]);
  return fields;
}

/** `{"text": "…", "voice": "…"}`: one line, as it goes after `curl -d`. */
export function jsonBody(fields: [string, unknown][]): string {
  return `{${fields.map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(", ")}}`;
}

function endpoint(request: SpeechSnippet): string {
  return `${baseUrl(request.origin)}/v1/tts${request.stream ? "/stream" : ""}`;
}

export function curlSnippet(request: SpeechSnippet): string {
  const file = audioFileName(request.voice, request.format);
  const lines = [
    `curl ${request.stream ? "-N " : ""}--fail-with-body -X POST "${endpoint(request)}"`,
    `  -H "Authorization: Bearer $${API_KEY_ENV}"`,
    `  -H "Content-Type: application/json"`,
    `  -d ${shellQuote(jsonBody(bodyFields(request)))}`,
    `  --output ${file}`,
  ];
  return lines.join(" \\\n");
}

function pythonDict(fields: [string, string | number][], indent: string): string {
  const inner = fields
    .map(([key, value]) => `${indent}    ${pythonString(key)}: ${typeof value === "number" ? pythonFloat(value) : pythonString(value)},`)
    .join("\n");
  return `{\n${inner}\n${indent}}`;
}

export function pythonRequestsSnippet(request: SpeechSnippet): string {
  const file = audioFileName(request.voice, request.format);
  const head = [
    "import os",
    "",
    "import requests",
    "",
    `api_key = os.environ["${API_KEY_ENV}"]`,
    "",
  ];
  const call = [
    "response = requests.post(",
    `    ${pythonString(endpoint(request))},`,
    '    headers={"Authorization": f"Bearer {api_key}"},',
    `    json=${pythonDict(bodyFields(request), "    ")},`,
    ...(request.stream ? ["    stream=True,"] : []),
    "    timeout=300,",
    ")",
    "response.raise_for_status()",
    "",
  ];
  const save = request.stream
    ? [
        `with open(${pythonString(file)}, "wb") as audio:`,
        "    for chunk in response.iter_content(chunk_size=None):  # each sentence as it is ready",
        "        audio.write(chunk)",
      ]
    : [
        `with open(${pythonString(file)}, "wb") as audio:`,
        "    audio.write(response.content)",
        'print(response.headers["X-Characters"], "characters,", response.headers["X-Audio-Duration-Ms"], "ms of audio")',
      ];
  return [...head, ...call, ...save].join("\n");
}

export function openAiSnippet(request: SpeechSnippet): string {
  const file = audioFileName(request.voice, request.format);
  const args = [
    '    model="tts-1",',
    `    voice=${pythonString(request.voice ?? "alloy")},`,
    `    input=${pythonString(request.text)},`,
    `    response_format=${pythonString(request.format ?? "mp3")},`,
    ...(request.speed !== undefined && Math.abs(request.speed - 1) > 1e-9 ? [`    speed=${pythonFloat(request.speed)},`] : []),
    // Without it the server sends the whole file at once (cached, with its exact size).
    ...(request.stream ? ['    stream_format="audio",'] : []),
  ];
  const head = [
    "import os",
    "",
    "from openai import OpenAI",
    "",
    "client = OpenAI(",
    `    base_url=${pythonString(`${baseUrl(request.origin)}/v1`)},`,
    `    api_key=os.environ["${API_KEY_ENV}"],`,
    ")",
    "",
  ];
  const call = request.stream
    ? [
        "with client.audio.speech.with_streaming_response.create(",
        ...args.map((line) => `    ${line}`),
        ") as response:",
        `    response.stream_to_file(${pythonString(file)})`,
      ]
    : [
        "response = client.audio.speech.create(",
        ...args,
        ")",
        `response.write_to_file(${pythonString(file)})`,
      ];
  return [...head, ...call].join("\n");
}

// --- the quick start's examples ------------------------------------------------------------

export const EXAMPLE_TEXT = "Hello from Vocalis. This sentence was spoken by a neural voice on your own server.";
export const EXAMPLE_WEBHOOK_URL = "https://example.com/hooks/vocalis";

export function exportKeySnippet(): string {
  return [
    "# The key from the API keys page: it is shown once, so paste it now.",
    `export ${API_KEY_ENV}="sk_live_…"`,
  ].join("\n");
}

export function listVoicesSnippet(origin: string): string {
  return `curl "${baseUrl(origin)}/v1/voices"`;
}

export function streamToPlayerSnippet(origin: string, voice?: string | null): string {
  const fields: [string, unknown][] = [["text", EXAMPLE_TEXT]];
  if (voice) fields.push(["voice", voice]);
  fields.push(["format", "mp3"]);
  return [
    "# Playback starts with the first sentence; ffplay comes with FFmpeg.",
    `curl -N --fail-with-body -X POST "${baseUrl(origin)}/v1/tts/stream" \\`,
    `  -H "Authorization: Bearer $${API_KEY_ENV}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d ${shellQuote(jsonBody(fields))} \\`,
    "  | ffplay -nodisp -autoexit -loglevel quiet -",
  ].join("\n");
}

export function jobSnippet(origin: string, voice?: string | null, webhookUrl: string = EXAMPLE_WEBHOOK_URL): string {
  const base = baseUrl(origin);
  const fields: [string, unknown][] = [["text", "A long chapter, up to 100,000 characters…"]];
  if (voice) fields.push(["voice", voice]);
  fields.push(["format", "mp3"], ["webhook_url", webhookUrl], ["metadata", { order: 1234 }]);
  return [
    "# 1. Queue the job: 202 at once, with the job's id.",
    `curl --fail-with-body -X POST "${base}/v1/tts/jobs" \\`,
    `  -H "Authorization: Bearer $${API_KEY_ENV}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -H "Idempotency-Key: order-1234" \\`,
    `  -d ${shellQuote(jsonBody(fields))}`,
    `# {"job_id": "job_…", "status": "queued", "characters": 42, …}`,
    "",
    "# 2. When it is done, your webhook receives job.succeeded (or job.failed).",
    "#    You can also ask for its status, then download the audio:",
    'JOB="job_…"',
    `curl "${base}/v1/tts/jobs/$JOB" -H "Authorization: Bearer $${API_KEY_ENV}"`,
    `curl --fail-with-body "${base}/v1/tts/jobs/$JOB/audio" \\`,
    `  -H "Authorization: Bearer $${API_KEY_ENV}" --output chapter.mp3`,
  ].join("\n");
}

export function webhookVerifySnippet(): string {
  return [
    "# pip install standardwebhooks",
    "import os",
    "",
    "from standardwebhooks import Webhook",
    "",
    "# Your signing secret (whsec_…) from the Webhooks page",
    'webhook = Webhook(os.environ["VOCALIS_WEBHOOK_SECRET"])',
    "",
    "def receive(body: bytes, headers: dict[str, str]) -> None:",
    "    # Raises if the event was forged, altered or is older than 5 minutes.",
    "    event = webhook.verify(body, headers)",
    '    if event["type"] == "job.succeeded":',
    '        print("audio ready:", event["data"]["audio_url"])',
  ].join("\n");
}
