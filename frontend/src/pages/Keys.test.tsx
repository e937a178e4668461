import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import type { components } from "../api/schema";
import { renderWithProviders } from "../test/harness";
import { Keys } from "./Keys";

type KeyOut = components["schemas"]["KeyOut"];

const SECRET = "sk_live_abcdef0123456789abcdef0123456789";

function key(fields: Partial<KeyOut>): KeyOut {
  return {
    id: "key_1",
    account_id: "acc_1",
    name: "production",
    prefix: "sk_live_abcd",
    scopes: ["tts", "jobs", "usage:read"],
    rate_limit_rpm: null,
    monthly_char_cap: null,
    period_chars_used: 1_234,
    allowed_voices: null,
    allowed_cidrs: null,
    expires_at: null,
    last_used_at: null,
    revoked_at: null,
    created_at: "2025-01-01T00:00:00Z",
    state: "active",
    ...fields,
  };
}

function answer(data: unknown, status = 200) {
  const ok = status < 400;
  return Promise.resolve({
    data: ok ? data : undefined,
    error: ok ? undefined : data,
    response: new Response(null, { status }),
  });
}

let keys: KeyOut[] = [];

function mockApi() {
  vi.spyOn(api, "GET").mockImplementation(((path: string) => {
    if (path !== "/account/keys") throw new Error(`unexpected GET ${path}`);
    return answer(keys);
  }) as unknown as typeof api.GET);
  const post = vi.spyOn(api, "POST").mockImplementation(((_path: string, init: { body: { name: string; scopes: string[] } }) => {
    const created = key({ id: "key_new", name: init.body.name, prefix: "sk_live_new0", scopes: init.body.scopes, period_chars_used: 0 });
    keys = [...keys, created];
    return answer({ key: created, secret: SECRET }, 201);
  }) as unknown as typeof api.POST);
  const patch = vi.spyOn(api, "PATCH").mockImplementation(((_path: string, init: { params: { path: { key_id: string } }; body: { name: string } }) => {
    keys = keys.map((item) => (item.id === init.params.path.key_id ? { ...item, name: init.body.name } : item));
    return answer(keys.find((item) => item.id === init.params.path.key_id));
  }) as unknown as typeof api.PATCH);
  const remove = vi.spyOn(api, "DELETE").mockImplementation(((_path: string, init: { params: { path: { key_id: string } } }) => {
    keys = keys.map((item) => (item.id === init.params.path.key_id ? { ...item, state: "revoked", revoked_at: "2025-02-01T00:00:00Z" } : item));
    return answer(undefined, 204);
  }) as unknown as typeof api.DELETE);
  return { post, patch, remove };
}

function renderPage() {
  return renderWithProviders(<Keys />);
}

describe("Keys", () => {
  beforeEach(() => {
    keys = [key({})];
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("lists the keys with their scopes, limit, usage and state", async () => {
    keys = [
      key({ rate_limit_rpm: 120, last_used_at: new Date(Date.now() - 5 * 60_000).toISOString() }),
      key({ id: "key_2", name: "old", state: "revoked", revoked_at: "2025-01-05T00:00:00Z", scopes: ["tts"] }),
    ];
    mockApi();
    renderPage();
    const rows = await screen.findAllByTestId("key-row");
    expect(rows).toHaveLength(2);
    const first = within(rows[0] as HTMLElement);
    expect(first.getByText("production")).toBeInTheDocument();
    expect(first.getByText("sk_live_abcd…")).toBeInTheDocument();
    expect(first.getByText("usage:read")).toBeInTheDocument();
    expect(first.getByText("120 / min")).toBeInTheDocument();
    expect(first.getByText("5 minutes ago")).toBeInTheDocument();
    expect(first.getByText("1,234")).toBeInTheDocument();
    expect(first.getByText("active")).toBeInTheDocument();
    expect(first.getByRole("button", { name: "Revoke" })).toBeInTheDocument();
    const second = within(rows[1] as HTMLElement);
    expect(second.getByText("revoked")).toBeInTheDocument();
    expect(second.getByText("Never")).toBeInTheDocument();
    expect(second.queryByRole("button", { name: "Revoke" })).not.toBeInTheDocument();
  });

  it("shows a new key's secret once, with a copy button, and forgets it when dismissed", async () => {
    const user = userEvent.setup();
    const { post } = mockApi();
    renderPage();
    await screen.findAllByTestId("key-row");

    await user.type(screen.getByLabelText("Name"), "ci-runner");
    await user.click(screen.getByRole("checkbox", { name: /Batch jobs/ }));
    await user.type(screen.getByLabelText("Requests per minute"), "30");
    await user.click(screen.getByRole("button", { name: "Create key" }));

    const secret = await screen.findByTestId("new-key-secret");
    expect(secret).toHaveTextContent(SECRET);
    expect(post).toHaveBeenCalledWith("/account/keys", {
      body: { name: "ci-runner", scopes: ["tts", "usage:read"], rate_limit_rpm: 30 },
    });
    expect(screen.getByText(/it will not be shown again/i)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy" })).toBeInTheDocument();
    // shown in one place only, and the list now has the new key (without its secret)
    expect(screen.getAllByText(SECRET)).toHaveLength(1);
    expect(await screen.findAllByTestId("key-row")).toHaveLength(2);
    // the form is cleared for the next key
    expect(screen.getByLabelText("Name")).toHaveValue("");

    await user.click(screen.getByRole("button", { name: /Done/ }));
    expect(screen.queryByTestId("new-key-secret")).not.toBeInTheDocument();
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });

  it("copies the secret to the clipboard", async () => {
    const user = userEvent.setup();
    mockApi();
    renderPage();
    await screen.findAllByTestId("key-row");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    await screen.findByTestId("new-key-secret");
    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe(SECRET);
    expect(await screen.findByRole("button", { name: "Copied" })).toBeInTheDocument();
  });

  it("sends the default name and all three scopes when the form is left as it is", async () => {
    const user = userEvent.setup();
    const { post } = mockApi();
    renderPage();
    await screen.findAllByTestId("key-row");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    await screen.findByTestId("new-key-secret");
    expect(post).toHaveBeenCalledWith("/account/keys", { body: { name: "default", scopes: ["tts", "jobs", "usage:read"] } });
  });

  it("checks the form before sending it", async () => {
    const user = userEvent.setup();
    const { post } = mockApi();
    renderPage();
    await screen.findAllByTestId("key-row");
    for (const name of [/Speech/, /Batch jobs/, /Usage/]) await user.click(screen.getByRole("checkbox", { name }));
    await user.type(screen.getByLabelText("Requests per minute"), "0");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByText("Choose at least one scope.")).toBeInTheDocument();
    expect(screen.getByText("A whole number, 1 or more.")).toBeInTheDocument();
    expect(post).not.toHaveBeenCalled();
  });

  it("tells an unverified account to confirm its email first", async () => {
    const user = userEvent.setup();
    mockApi();
    vi.spyOn(api, "POST").mockImplementation((() =>
      answer({ detail: "confirm your email address first (the link is in your inbox)", code: "email_not_verified" }, 403)
    ) as unknown as typeof api.POST);
    renderPage();
    await screen.findAllByTestId("key-row");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByText("confirm your email address first (the link is in your inbox)")).toBeInTheDocument();
    expect(screen.getByText(/Confirm your email address first/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Send the link again" })).toHaveAttribute("href", "/verify");
    expect(screen.queryByTestId("new-key-secret")).not.toBeInTheDocument();
  });

  it("renames a key inline", async () => {
    const user = userEvent.setup();
    const { patch } = mockApi();
    renderPage();
    const [row] = await screen.findAllByTestId("key-row");
    await user.click(within(row as HTMLElement).getByRole("button", { name: "Rename" }));
    const input = within(row as HTMLElement).getByLabelText("New name");
    await user.clear(input);
    await user.type(input, "backend{Enter}");
    expect(patch).toHaveBeenCalledWith("/account/keys/{key_id}", { params: { path: { key_id: "key_1" } }, body: { name: "backend" } });
    expect(await within(row as HTMLElement).findByText("backend")).toBeInTheDocument();
    expect(screen.getByText("Key renamed to “backend”.")).toBeInTheDocument();
  });

  it("revokes a key only after the dialog that names it is confirmed", async () => {
    const user = userEvent.setup();
    const { remove } = mockApi();
    renderPage();
    const [row] = await screen.findAllByTestId("key-row");
    await user.click(within(row as HTMLElement).getByRole("button", { name: "Revoke" }));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByText("production")).toBeInTheDocument();
    expect(remove).not.toHaveBeenCalled();
    await user.click(within(dialog).getByRole("button", { name: "Revoke key" }));
    expect(remove).toHaveBeenCalledWith("/account/keys/{key_id}", { params: { path: { key_id: "key_1" } } });
    expect(await screen.findByText(/Key “production” revoked/)).toBeInTheDocument();
    expect(within(row as HTMLElement).getByText("revoked")).toBeInTheDocument();
    expect(within(row as HTMLElement).queryByRole("button", { name: "Revoke" })).not.toBeInTheDocument();
  });

  it("shows an empty list for an account without keys", async () => {
    keys = [];
    mockApi();
    renderPage();
    expect(await screen.findByText("No API keys yet")).toBeInTheDocument();
  });
});
