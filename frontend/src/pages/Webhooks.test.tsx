import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { answer, renderWithProviders } from "../test/harness";
import {
  SECRET_MASK, VERIFY_SNIPPET, Webhooks, describeTestResult, sendTestEvent, validateWebhookUrl,
} from "./Webhooks";

vi.mock("../api/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../api/client")>();
  return { ...actual, api: { GET: vi.fn(), POST: vi.fn() } };
});

const GET = api.GET as unknown as Mock;
const POST = api.POST as unknown as Mock;

const SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const NEW_SECRET = "whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3";

function renderPage() {
  return renderWithProviders(<Webhooks />, "/webhooks");
}

describe("the signing secret", () => {
  beforeEach(() => {
    GET.mockReset();
    POST.mockReset();
    GET.mockImplementation(() => answer({ secret: SECRET, previous_valid_until: null }));
  });
  afterEach(() => vi.restoreAllMocks());

  it("stays hidden until Reveal, and hides again", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    const user = userEvent.setup();
    const { container } = renderPage();
    const field = await screen.findByLabelText("Secret");
    expect(field).toHaveValue(SECRET_MASK);
    expect(container.innerHTML).not.toContain(SECRET);
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Reveal" }));
    expect(field).toHaveValue(SECRET);

    await user.click(screen.getByRole("button", { name: "Hide" }));
    expect(field).toHaveValue(SECRET_MASK);
    expect(container.innerHTML).not.toContain(SECRET);
    expect(setItem).not.toHaveBeenCalled();
    expect(GET).toHaveBeenCalledWith("/account/webhooks/secret");
  });

  it("rotates only after confirming, and keeps the new secret hidden", async () => {
    POST.mockImplementation(() => answer({ secret: NEW_SECRET, previous_valid_until: "2999-01-02T03:04:05Z" }));
    const user = userEvent.setup();
    const { container } = renderPage();
    await screen.findByLabelText("Secret");
    await user.click(screen.getByRole("button", { name: "Reveal" }));

    await user.click(screen.getByRole("button", { name: "Rotate secret" }));
    const dialog = await screen.findByRole("dialog", { name: "Rotate the signing secret?" });
    expect(dialog).toHaveTextContent("previous_valid_until");
    expect(dialog).toHaveTextContent(/both\s+signatures/);
    expect(POST).not.toHaveBeenCalled();

    await user.click(within(dialog).getByRole("button", { name: "Rotate secret" }));
    expect(POST).toHaveBeenCalledWith("/account/webhooks/secret/rotate");
    expect(await screen.findByText("New secret issued")).toBeInTheDocument();
    expect(screen.getByLabelText("Secret")).toHaveValue(SECRET_MASK);
    expect(container.innerHTML).not.toContain(NEW_SECRET);
    await user.click(screen.getByRole("button", { name: "Reveal" }));
    expect(screen.getByLabelText("Secret")).toHaveValue(NEW_SECRET);
  });

  it("says when a rotation overlap is under way", async () => {
    GET.mockImplementation(() => answer({ secret: SECRET, previous_valid_until: "2999-01-02T03:04:05Z" }));
    renderPage();
    expect(await screen.findByText("Rotation in progress")).toBeInTheDocument();
  });

  it("shows the server's error when the secret cannot load", async () => {
    GET.mockImplementation(() => answer({ detail: "Please log in", code: "not_logged_in" }, 401));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("Please log in");
  });

  it("documents verification with the secret as a placeholder only", async () => {
    renderPage();
    await screen.findByLabelText("Secret");
    expect(VERIFY_SNIPPET).toContain("from standardwebhooks import Webhook");
    expect(VERIFY_SNIPPET).toContain('os.environ["VOCALIS_WEBHOOK_SECRET"]');
    expect(screen.getAllByText("webhook-signature").length).toBeGreaterThan(0);
    expect(screen.getByText("webhook-id")).toBeInTheDocument();
    expect(screen.getByText("webhook-timestamp")).toBeInTheDocument();
  });
});

describe("test events", () => {
  beforeEach(() => {
    GET.mockReset();
    POST.mockReset();
    GET.mockImplementation(() => answer({ secret: SECRET, previous_valid_until: null }));
  });

  it("checks the URL before sending", () => {
    expect(validateWebhookUrl("")).toMatch(/Enter the URL/);
    expect(validateWebhookUrl("example.com/hook")).toMatch(/full URL/);
    expect(validateWebhookUrl("ftp://example.com/hook")).toMatch(/https/);
    expect(validateWebhookUrl(" https://example.com/hook ")).toBeNull();
  });

  it("describes each outcome", () => {
    expect(describeTestResult({ delivered: true, status_code: 204, error: null, duration_ms: 143 }))
      .toEqual({ tone: "success", title: "Delivered", detail: "Your endpoint answered HTTP 204 in 143 ms." });
    const refusedByReceiver = describeTestResult({ delivered: false, status_code: 500, error: "the receiver answered 500", duration_ms: 20 });
    expect(refusedByReceiver.tone).toBe("warning");
    expect(refusedByReceiver.title).toBe("Your endpoint answered HTTP 500");
    expect(refusedByReceiver.detail).not.toContain("the receiver answered");
    const refused = describeTestResult({ delivered: false, status_code: null, error: "connection refused", duration_ms: 3 });
    expect(refused.tone).toBe("error");
    expect(refused.detail).toContain("connection refused");
  });

  it("posts the URL to /account/webhooks/test", async () => {
    POST.mockImplementation(() => answer({ delivered: true, status_code: 200, error: null, duration_ms: 87, event_id: "msg_test1" }));
    await expect(sendTestEvent("https://example.com/h")).resolves.toEqual({
      delivered: true, status_code: 200, error: null, duration_ms: 87, event_id: "msg_test1",
    });
    expect(POST).toHaveBeenCalledWith("/account/webhooks/test", { body: { url: "https://example.com/h" } });
  });

  it("sends a test event from the form and shows the answer", async () => {
    POST.mockImplementation(() => answer({ delivered: true, status_code: 200, error: null, duration_ms: 87, event_id: "msg_test1" }));
    const user = userEvent.setup();
    renderPage();
    const url = screen.getByLabelText("Endpoint URL");
    await user.click(screen.getByRole("button", { name: "Send test event" }));
    expect(await screen.findByText("Enter the URL of your webhook endpoint.")).toBeInTheDocument();
    expect(POST).not.toHaveBeenCalled();

    await user.type(url, "https://example.com/hooks/vocalis");
    await user.click(screen.getByRole("button", { name: "Send test event" }));
    expect(await screen.findByText("Delivered")).toBeInTheDocument();
    expect(screen.getByText("Your endpoint answered HTTP 200 in 87 ms.")).toBeInTheDocument();
    expect(screen.getByText("msg_test1")).toBeInTheDocument();
  });

  it("puts a refused URL's reason next to the field", async () => {
    POST.mockImplementation(() => answer({ detail: "webhook URLs must be public", code: "invalid_webhook_url" }, 422));
    const user = userEvent.setup();
    renderPage();
    await user.type(screen.getByLabelText("Endpoint URL"), "http://127.0.0.1/hook");
    await user.click(screen.getByRole("button", { name: "Send test event" }));
    expect(await screen.findByText("webhook URLs must be public")).toHaveClass("field-error");
  });
});
