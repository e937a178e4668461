import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { api } from "../api/client";
import { renderWithProviders } from "../test/harness";
import { Playground } from "./Playground";

const VOICES = {
  default: "en_US-joe-medium",
  voices: [
    { id: "de_DE-thorsten-high", name: "Thorsten", language: "de_DE", gender: "male", sample_rate: 22050, backend: "piper", quality: "high" },
    { id: "en_US-joe-medium", name: "Joe", language: "en_US", gender: "male", sample_rate: 22050, backend: "piper", quality: "medium" },
  ],
};

function quota(remaining: number | null) {
  return {
    plan: "free",
    resets_at: "2030-02-01T00:00:00Z",
    characters: { limit: remaining === null ? null : 10000, used: remaining === null ? 0 : 10000 - remaining, remaining },
    seconds: { limit: null, used: 0, remaining: null },
  };
}

function ok(data: unknown) {
  return Promise.resolve({ data, error: undefined, response: new Response(null, { status: 200 }) });
}

function refused(status: number, error: Record<string, unknown>) {
  return Promise.resolve({ data: undefined, error, response: new Response(JSON.stringify(error), { status }) });
}

function mockGets({ remaining = 9000 as number | null, verified = true } = {}) {
  return vi.spyOn(api, "GET").mockImplementation(((path: string) => {
    switch (path) {
      case "/auth/me":
        return ok({ id: "acc_1", email: "ada@example.com", email_verified: verified, plan: "free" });
      case "/auth/csrf":
        return ok({ csrf_token: "csrf" });
      case "/v1/voices":
        return ok(VOICES);
      case "/account/quota":
        return ok(quota(remaining));
      default:
        return refused(404, { detail: "no such route", code: "not_found" });
    }
  }) as never);
}

function audioAnswer(bytes: number[], headers: Record<string, string>) {
  const response = new Response(new Uint8Array(bytes), { status: 200, headers: { "Content-Type": "audio/mpeg", ...headers } });
  return response.clone().blob().then((data) => ({ data, error: undefined, response }));
}

function renderPage() {
  return renderWithProviders(<Playground />);
}

beforeEach(() => {
  let next = 0;
  URL.createObjectURL = vi.fn(() => `blob:test/${next++}`);
  URL.revokeObjectURL = vi.fn();
  const schema = { components: { schemas: { SpeechRequest: { properties: { text: { maxLength: 200 } } } } } };
  vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response(JSON.stringify(schema)))));
});

afterEach(() => {
  cleanup(); // unmount (and let the page stop its audio) before the mocks go
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

async function ready() {
  const voice = await screen.findByLabelText("Voice");
  await waitFor(() => expect(screen.getByTestId("char-counter")).toHaveTextContent("/ 200"));
  return voice as HTMLSelectElement;
}

it("preselects the server's default voice and lists name and language", async () => {
  mockGets();
  renderPage();
  const voice = await ready();
  expect(voice.value).toBe("en_US-joe-medium");
  const options = within(voice).getAllByRole("option").map((option) => option.textContent);
  expect(options).toEqual(["Joe — English (US) (default)", "Thorsten — German (Germany)"]);
});

it("counts characters against the request maximum and what is left", async () => {
  mockGets({ remaining: 50 });
  const user = userEvent.setup();
  renderPage();
  await ready();
  const text = screen.getByLabelText("Text");
  await user.clear(text);
  await user.type(text, "Hello there");
  const counter = screen.getByTestId("char-counter");
  expect(counter).toHaveTextContent("11 / 200");
  expect(counter).toHaveTextContent("50 characters left this period, 39 after this request.");

  await user.type(text, " — and a much longer sentence than fifty");
  expect(counter).toHaveTextContent("Only 50 characters left this period");
  // Over the allowance, the server has the last word (and the figures): Generate stays on.
  expect(screen.getByRole("button", { name: "Generate" })).toBeEnabled();

  await user.clear(text);
  await user.click(text);
  await user.paste("x".repeat(205));
  expect(counter).toHaveTextContent("5 over the 200-character limit per request");
  expect(text).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByRole("button", { name: "Generate" })).toBeDisabled();
});

it("says there is no cap for a metered plan", async () => {
  mockGets({ remaining: null });
  renderPage();
  await ready();
  await waitFor(() => expect(screen.getByTestId("char-counter")).toHaveTextContent("No monthly cap on characters."));
});

it("generates, plays from a blob: URL, offers the download and shows the cost", async () => {
  const gets = mockGets();
  const post = vi.spyOn(api, "POST").mockImplementation((() =>
    audioAnswer([1, 2, 3], {
      "X-Characters": "5",
      "X-Audio-Duration-Ms": "1500",
      "X-Processing-Time-Ms": "120",
      "X-Quota-Characters-Remaining": "8995",
      "X-Quota-Seconds-Remaining": String(2 ** 62),
      "X-Cache": "MISS",
      "X-Voice": "de_DE-thorsten-high",
    })) as never);
  const user = userEvent.setup();
  renderPage();
  const voice = await ready();
  await user.selectOptions(voice, "de_DE-thorsten-high");
  fireSpeed("1.5");
  await user.selectOptions(screen.getByLabelText("Format"), "wav");
  const text = screen.getByLabelText("Text");
  await user.clear(text);
  await user.type(text, "Hallo");
  await user.click(screen.getByRole("button", { name: "Generate" }));

  const audio = await screen.findByTestId("playground-audio");
  expect(audio.getAttribute("src")).toMatch(/^blob:/);
  expect(post).toHaveBeenCalledWith("/account/tts", expect.objectContaining({
    body: { text: "Hallo", voice: "de_DE-thorsten-high", speed: 1.5, format: "wav" },
    parseAs: "blob",
  }));
  const download = screen.getByRole("link", { name: "Download" });
  expect(download).toHaveAttribute("download", "vocalis-de_DE-thorsten-high.wav");
  expect(download.getAttribute("href")).toMatch(/^blob:/);

  const cost = screen.getByTestId("request-cost");
  expect(cost).toHaveTextContent("Characters billed5");
  expect(cost).toHaveTextContent("Audio length1.5 s");
  expect(cost).toHaveTextContent("Processing time120 ms");
  expect(cost).toHaveTextContent("Characters left8,995");
  expect(cost).toHaveTextContent("Audio leftNo cap");
  expect(cost).toHaveTextContent("MISS");
  expect(cost).toHaveTextContent("de_DE-thorsten-high");

  // The quota was asked again after the request.
  const quotaCalls = () => gets.mock.calls.filter((call) => (call as unknown[])[0] === "/account/quota").length;
  await waitFor(() => expect(quotaCalls()).toBeGreaterThan(1));
});

it("streams long texts through /account/tts/stream", async () => {
  const schema = { components: { schemas: { SpeechRequest: { properties: { text: { maxLength: 5000 } } } } } };
  vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response(JSON.stringify(schema)))));
  mockGets({ remaining: null });
  // jsdom has no MediaSource: the stream is taken whole, as a browser without MSE does.
  const post = vi.spyOn(api, "POST").mockImplementation((() =>
    audioAnswer([1, 2, 3, 4], { "X-Characters": "450", "X-Cache": "MISS", "X-Voice": "en_US-joe-medium" })) as never);
  const user = userEvent.setup();
  renderPage();
  await screen.findByLabelText("Voice");
  await waitFor(() => expect(screen.getByTestId("char-counter")).toHaveTextContent("/ 5,000"));
  const text = screen.getByLabelText("Text");
  await user.clear(text);
  await user.click(text);
  await user.paste("word ".repeat(90)); // 450 characters
  expect(screen.getByText(/Long text: streamed sentence by sentence/)).toBeInTheDocument();
  await user.keyboard("{Control>}{Enter}{/Control}");
  await screen.findByTestId("playground-audio");
  expect(post.mock.calls[0]?.[0]).toBe("/account/tts/stream");
  expect(post.mock.calls[0]?.[1]).toEqual(expect.objectContaining({ parseAs: "blob" }));
  expect(screen.getByText(/vocalis-en_US-joe-medium\.mp3 · 4 B/)).toBeInTheDocument();
  const cost = screen.getByTestId("request-cost");
  expect(cost).toHaveTextContent("Characters billed450");
  expect(cost).toHaveTextContent("Total time");
  // no remainder in a stream's headers: the quota, read again after the request, says it
  await waitFor(() => expect(cost).toHaveTextContent("Characters leftNo cap"));
  expect(screen.getByTestId("snippet-curl")).toHaveTextContent("/v1/tts/stream");
});

it("shows a quota refusal with its figures and reset time", async () => {
  mockGets({ remaining: 0 });
  vi.spyOn(api, "POST").mockImplementation((() =>
    refused(429, {
      detail: "monthly character quota exceeded",
      code: "quota_exceeded",
      quota: { characters: { limit: 10000, used: 10000, remaining: 0 }, seconds: { limit: null, used: 0, remaining: null } },
      resets_at: "2030-02-01T00:00:00Z",
    })) as never);
  const user = userEvent.setup();
  renderPage();
  await ready();
  await user.click(screen.getByRole("button", { name: "Generate" }));
  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("Monthly allowance used up");
  expect(alert).toHaveTextContent("Characters: 10,000 of 10,000 used, 0 left");
  expect(alert).toHaveTextContent("Resets");
  expect(screen.queryByTestId("playground-audio")).not.toBeInTheDocument();
});

it("asks to confirm the email on 403 email_not_verified", async () => {
  mockGets({ verified: false });
  vi.spyOn(api, "POST").mockImplementation((() =>
    refused(403, { detail: "confirm your email address first", code: "email_not_verified" })) as never);
  const user = userEvent.setup();
  renderPage();
  await ready();
  await user.click(screen.getByRole("button", { name: "Generate" }));
  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("Confirm your email address first");
  expect(within(alert).getByRole("link", { name: "Send the link again" })).toHaveAttribute("href", "/verify");
});

it("previews the selected voice with a short sentence", async () => {
  mockGets();
  const play = vi.fn(() => Promise.resolve());
  vi.spyOn(HTMLMediaElement.prototype, "play").mockImplementation(play);
  vi.spyOn(HTMLMediaElement.prototype, "pause").mockImplementation(() => {});
  const post = vi.spyOn(api, "POST").mockImplementation((() => audioAnswer([7], { "X-Characters": "60" })) as never);
  const user = userEvent.setup();
  renderPage();
  await ready();
  await user.click(screen.getByRole("button", { name: "Preview" }));
  await waitFor(() => expect(play).toHaveBeenCalled());
  const [path, options] = post.mock.calls[0] as unknown as [string, { body: { voice: string; text: string } }];
  expect(path).toBe("/account/tts");
  expect(options.body.voice).toBe("en_US-joe-medium");
  expect(options.body.text.length).toBeLessThan(100);
  expect(screen.getByRole("button", { name: "Stop preview" })).toBeInTheDocument();
});

it("shows the same request as code with this origin, the voice and no key", async () => {
  mockGets();
  const user = userEvent.setup();
  renderPage();
  await ready();
  const text = screen.getByLabelText("Text");
  await user.clear(text);
  await user.type(text, `It's "here"`);
  await waitFor(() => expect(screen.getByTestId("snippet-curl")).toHaveTextContent(`'{"text": "It'\\''s \\"here\\"", "voice": "en_US-joe-medium", "format": "mp3"}'`));
  const curl = screen.getByTestId("snippet-curl");
  expect(curl).toHaveTextContent(`${window.location.origin}/v1/tts`);
  expect(curl).toHaveTextContent("$VOCALIS_API_KEY");
  await user.click(screen.getByRole("tab", { name: "OpenAI SDK" }));
  const openai = screen.getByTestId("snippet-openai");
  expect(openai).toHaveTextContent(`base_url="${window.location.origin}/v1"`);
  expect(openai).toHaveTextContent('model="tts-1"');
  expect(openai).toHaveTextContent('voice="en_US-joe-medium"');
  await user.keyboard("{ArrowLeft}");
  expect(screen.getByRole("tab", { name: "Python" })).toHaveAttribute("aria-selected", "true");
  expect(screen.getByTestId("snippet-python")).toHaveTextContent('os.environ["VOCALIS_API_KEY"]');
});

function fireSpeed(value: string) {
  fireEvent.change(screen.getByLabelText("Speed"), { target: { value } });
}
