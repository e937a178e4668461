import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { api } from "../api/client";
import { renderWithProviders } from "../test/harness";
import { Quickstart } from "./Quickstart";

const VOICES = {
  default: "en_US-amy-low",
  voices: [{ id: "en_US-amy-low", name: "Amy", language: "en_US", gender: "female", sample_rate: 16000, backend: "piper", quality: "low" }],
};

function renderPage() {
  return renderWithProviders(<Quickstart />);
}

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

it("walks from a key to speech, with this origin and the default voice in every example", async () => {
  vi.spyOn(api, "GET").mockResolvedValue({ data: VOICES, error: undefined, response: new Response(null, { status: 200 }) } as never);
  const user = userEvent.setup();
  renderPage();
  const origin = window.location.origin;

  expect(screen.getByRole("heading", { level: 1, name: "Quick start" })).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Create an API key" })).toHaveAttribute("href", "/keys");
  // The reference is the server's page, not a route of the app.
  for (const link of screen.getAllByRole("link", { name: /API reference/ })) expect(link).toHaveAttribute("href", "/docs");

  // Voices arrive: the table lists them, the examples name the default one.
  const table = await screen.findByRole("table", { name: "Voices on this server" });
  expect(within(table).getByText("Amy")).toBeInTheDocument();
  expect(within(table).getByText("English (United States)")).toBeInTheDocument();
  const curl = screen.getByTestId("quickstart-curl");
  expect(curl).toHaveTextContent(`${origin}/v1/tts`);
  expect(curl).toHaveTextContent('"voice": "en_US-amy-low"');
  expect(curl).toHaveTextContent("--output vocalis-en_US-amy-low.wav");

  expect(screen.getByTestId("snippet-curl-stream")).toHaveTextContent(`${origin}/v1/tts/stream`);
  const streaming = screen.getByRole("tablist", { name: "Streaming examples" });
  await user.click(within(streaming).getByRole("tab", { name: "OpenAI SDK" }));
  expect(screen.getByTestId("snippet-openai-stream")).toHaveTextContent(`base_url="${origin}/v1"`);
  expect(screen.getByText(/\/v1\/tts\/jobs"/)).toBeInTheDocument();
  expect(screen.getByText(/"webhook_url": "https:\/\/example.com\/hooks\/vocalis"/)).toBeInTheDocument();

  // No key anywhere on the page: only the placeholder.
  expect(document.body.textContent).not.toMatch(/sk_live_[A-Za-z0-9]/);
  expect(document.body.textContent).toContain("$VOCALIS_API_KEY");
});

it("still shows the examples when the voices cannot be loaded", async () => {
  vi.spyOn(api, "GET").mockResolvedValue({
    data: undefined,
    error: { detail: "engine not ready", code: "engine_not_ready" },
    response: new Response(null, { status: 503 }),
  } as never);
  renderPage();
  expect(await screen.findByRole("alert")).toHaveTextContent("engine not ready");
  const curl = screen.getByTestId("quickstart-curl");
  expect(curl).toHaveTextContent(`${window.location.origin}/v1/tts`);
  expect(curl).not.toHaveTextContent('"voice"');
});
