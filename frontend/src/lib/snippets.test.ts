import { spawnSync } from "node:child_process";
import {
  API_KEY_ENV,
  audioFileName,
  curlSnippet,
  exportKeySnippet,
  jobSnippet,
  jsonBody,
  listVoicesSnippet,
  openAiSnippet,
  pythonFloat,
  pythonRequestsSnippet,
  pythonString,
  shellQuote,
  streamToPlayerSnippet,
  webhookVerifySnippet,
} from "./snippets";

const ORIGIN = "https://tts.example.com";
const TRICKY = `It's "quoted" \\ back\\slash\nnew line\ttab $HOME \`cmd\` 😀 é`;

function has(command: string): boolean {
  const probe = spawnSync(command, ["--version"], { encoding: "utf8" });
  return !probe.error && probe.status === 0;
}
const bash = has("bash");
const python = has("python3");

/** What the -d argument of a curl snippet is once bash has parsed it. */
function bashArgument(quoted: string): string {
  const run = spawnSync("bash", ["-c", `printf '%s' ${quoted}`], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout;
}

function dataArgument(snippet: string): string {
  const line = snippet.split("\n").find((row) => row.trimStart().startsWith("-d "));
  if (!line) throw new Error("no -d line");
  return line.trim().replace(/^-d /, "").replace(/ \\$/, "");
}

describe("shellQuote and pythonString", () => {
  it("wraps in single quotes and escapes single quotes the POSIX way", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("$HOME")).toBe("'$HOME'");
  });

  it.skipIf(!bash)("survives bash unchanged", () => {
    expect(bashArgument(shellQuote(TRICKY))).toBe(TRICKY);
  });

  it("escapes quotes, backslashes, newlines and control characters for Python", () => {
    expect(pythonString('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(pythonString("a\\b")).toBe('"a\\\\b"');
    expect(pythonString("\u0007bell")).toBe('"\\x07bell"');
    expect(pythonString("lone \ud800")).toBe('"lone \\ud800"');
    expect(pythonString("é 😀")).toBe('"é 😀"');
  });

  it.skipIf(!python)("is read back by Python as the same string", () => {
    const literal = pythonString(TRICKY);
    const run = spawnSync("python3", ["-c", `import sys, ast; sys.stdout.write(ast.literal_eval(sys.stdin.read()))`], {
      input: literal,
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(TRICKY);
  });

  it("writes Python floats", () => {
    expect(pythonFloat(1)).toBe("1.0");
    expect(pythonFloat(1.25)).toBe("1.25");
    expect(pythonFloat(0.7000000001)).toBe("0.7");
  });
});

describe("curlSnippet", () => {
  const request = { origin: ORIGIN, text: TRICKY, voice: "en_US-joe-medium", speed: 1.25, format: "mp3" };

  it("posts to this origin with the key from the environment", () => {
    const code = curlSnippet(request);
    expect(code).toContain(`"${ORIGIN}/v1/tts"`);
    expect(code).toContain(`-H "Authorization: Bearer $${API_KEY_ENV}"`);
    expect(code).toContain("--output vocalis-en_US-joe-medium.mp3");
    expect(code).not.toMatch(/sk_(live|test)_[A-Za-z0-9]/);
  });

  it("keeps the JSON body on one line, newlines escaped", () => {
    const data = dataArgument(curlSnippet(request));
    expect(data.includes("\n")).toBe(false);
    expect(data).toContain("\\n");
  });

  it.skipIf(!bash)("sends exactly the text, voice, speed and format that were chosen", () => {
    const body = JSON.parse(bashArgument(dataArgument(curlSnippet(request))));
    expect(body).toEqual({ text: TRICKY, voice: "en_US-joe-medium", speed: 1.25, format: "mp3" });
  });

  it("leaves defaults out and uses the stream route when asked", () => {
    const code = curlSnippet({ origin: `${ORIGIN}/`, text: "Hi", speed: 1, stream: true });
    expect(code).toContain(`-N --fail-with-body -X POST "${ORIGIN}/v1/tts/stream"`);
    expect(dataArgument(code)).toBe(`'{"text": "Hi"}'`);
    expect(code).toContain("--output vocalis-speech.wav");
  });

  it("is one command: every line but the last ends with a continuation", () => {
    const lines = curlSnippet(request).split("\n");
    lines.slice(0, -1).forEach((line) => expect(line.endsWith(" \\")).toBe(true));
  });
});

describe("Python snippets", () => {
  const request = { origin: ORIGIN, text: 'Say "hello"\nand goodbye', voice: "de_DE-thorsten-high", speed: 0.75, format: "opus" };

  it("requests: this origin, the key from os.environ, the escaped text", () => {
    const code = pythonRequestsSnippet(request);
    expect(code).toContain(`"${ORIGIN}/v1/tts"`);
    expect(code).toContain(`os.environ["${API_KEY_ENV}"]`);
    expect(code).toContain('"text": "Say \\"hello\\"\\nand goodbye",');
    expect(code).toContain('"voice": "de_DE-thorsten-high",');
    expect(code).toContain('"speed": 0.75,');
    expect(code).toContain('"format": "opus",');
    expect(code).toContain('open("vocalis-de_DE-thorsten-high.opus", "wb")');
    expect(code).not.toContain("sk_live_");
  });

  it("requests: streams with iter_content on the stream route", () => {
    const code = pythonRequestsSnippet({ ...request, stream: true });
    expect(code).toContain(`"${ORIGIN}/v1/tts/stream"`);
    expect(code).toContain("stream=True");
    expect(code).toContain("iter_content");
  });

  it("OpenAI SDK: base_url is this origin's /v1, model tts-1, the chosen voice id", () => {
    const code = openAiSnippet(request);
    expect(code).toContain(`base_url="${ORIGIN}/v1"`);
    expect(code).toContain(`api_key=os.environ["${API_KEY_ENV}"]`);
    expect(code).toContain("client.audio.speech.create(");
    expect(code).toContain('model="tts-1"');
    expect(code).toContain('voice="de_DE-thorsten-high"');
    expect(code).toContain('input="Say \\"hello\\"\\nand goodbye"');
    expect(code).toContain('response_format="opus"');
    expect(code).toContain("speed=0.75");
    expect(code).not.toContain("sk_live_");
  });

  it("OpenAI SDK: the streaming form", () => {
    const code = openAiSnippet({ ...request, stream: true });
    expect(code).toContain("with client.audio.speech.with_streaming_response.create(");
    expect(code).toContain('        stream_format="audio",');
    expect(code).toContain("response.stream_to_file(");
  });

  it.skipIf(!python)("compiles as Python", () => {
    const snippets = [
      pythonRequestsSnippet(request),
      pythonRequestsSnippet({ ...request, text: TRICKY, stream: true }),
      openAiSnippet({ ...request, text: TRICKY }),
      openAiSnippet({ ...request, stream: true }),
      webhookVerifySnippet(),
    ];
    const run = spawnSync(
      "python3",
      ["-c", "import json, sys\nfor code in json.load(sys.stdin): compile(code, 'snippet', 'exec')"],
      { input: JSON.stringify(snippets), encoding: "utf8" },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});

describe("quick start snippets", () => {
  it("name this origin and never a key", () => {
    const all = [
      exportKeySnippet(),
      listVoicesSnippet(ORIGIN),
      streamToPlayerSnippet(ORIGIN, "en_US-amy-low"),
      jobSnippet(ORIGIN, "en_US-amy-low"),
      webhookVerifySnippet(),
    ].join("\n");
    expect(all).toContain(`${ORIGIN}/v1/voices`);
    expect(all).toContain(`${ORIGIN}/v1/tts/stream`);
    expect(all).toContain(`${ORIGIN}/v1/tts/jobs`);
    expect(all).not.toMatch(/sk_live_[A-Za-z0-9]/);
    expect(all).not.toMatch(/whsec_[A-Za-z0-9]/);
  });

  it.skipIf(!bash)("job body carries the webhook URL and the voice", () => {
    const code = jobSnippet(ORIGIN, "en_US-amy-low", "https://hooks.example.com/x?a=1&b='2'");
    const body = JSON.parse(bashArgument(dataArgument(code)));
    expect(body.webhook_url).toBe("https://hooks.example.com/x?a=1&b='2'");
    expect(body.voice).toBe("en_US-amy-low");
    expect(body.metadata).toEqual({ order: 1234 });
  });
});

describe("helpers", () => {
  it("names files vocalis-<voice>.<ext>", () => {
    expect(audioFileName("en_US-joe-medium", "mp3")).toBe("vocalis-en_US-joe-medium.mp3");
    expect(audioFileName("a/b c", "flac")).toBe("vocalis-a-b-c.flac");
    expect(audioFileName("../x", "wav")).toBe("vocalis-x.wav");
    expect(audioFileName(null, "ulaw_8000")).toBe("vocalis-speech.ulaw");
  });

  it("writes one-line JSON", () => {
    expect(jsonBody([["text", "a\"b"], ["n", 2]])).toBe('{"text": "a\\"b", "n": 2}');
  });
});
