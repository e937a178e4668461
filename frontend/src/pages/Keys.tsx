// API keys: the list (with inline rename and revoke), and a form that creates one and shows its
// secret exactly once. The secret lives in this page's state only: never in storage, never in
// the query cache, and it is gone when the panel is dismissed or the page is left.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNotice } from "../components/ErrorNotice";
import { Badge, Button, Card, ConfirmDialog, CopyButton, EmptyState, Field, PageHeader, Skeleton } from "../components/ui";
import { formatDate, formatDateTime, formatInteger, formatRelative } from "../lib/format";
import "./Keys.css";

type KeyOut = components["schemas"]["KeyOut"];
type KeyFields = components["schemas"]["KeyFields"];
type Scope = components["schemas"]["Scope"];

const KEYS = ["account", "keys"] as const;
const NAME_MAX = 100;
const RPM_MAX = 2_147_483_647;

const SCOPES: { value: Scope; label: string; hint: string }[] = [
  { value: "tts", label: "Speech", hint: "Synthesize and stream audio" },
  { value: "jobs", label: "Batch jobs", hint: "Create, read and cancel jobs" },
  { value: "usage:read", label: "Usage", hint: "Read usage, logs and quota" },
];

/** What the page shows once: the new key's secret, and which key it belongs to. */
type Revealed = { id: string; name: string; prefix: string; secret: string };

export function Keys() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: KEYS, queryFn: () => unwrap(api.GET("/account/keys")) });
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<KeyOut | null>(null);

  const revoke = useMutation({
    mutationFn: (key: KeyOut) =>
      unwrap(api.DELETE("/account/keys/{key_id}", { params: { path: { key_id: key.id } } })),
    onSuccess: (_answer, key) => {
      client.setQueryData<KeyOut[]>(KEYS, (list) =>
        list?.map((item) => (item.id === key.id ? { ...item, state: "revoked", revoked_at: new Date().toISOString() } : item)),
      );
      void client.invalidateQueries({ queryKey: KEYS });
      if (revealed?.id === key.id) setRevealed(null);
      setRevoking(null);
      setFlash(`Key “${key.name}” revoked: requests that use it are refused from now on.`);
    },
  });

  return (
    <div className="keys-page">
      <PageHeader
        title="API keys"
        description={
          <>
            Keys authenticate your requests to the Vocalis API. Keep them secret: anyone holding one can
            spend your allowance. <Link to="/quickstart">How to use a key</Link>
          </>
        }
      />

      {flash ? (
        <div className="notice notice-success keys-flash" role="status">
          <span>{flash}</span>
          <button type="button" className="link-button" onClick={() => setFlash(null)}>Dismiss</button>
        </div>
      ) : null}

      {revealed ? <SecretPanel revealed={revealed} onDismiss={() => setRevealed(null)} /> : null}

      <CreateKeyForm
        onCreated={(created) => {
          setFlash(null);
          setRevealed(created);
        }}
      />

      <Card
        title="Your keys"
        actions={
          keys.data && keys.data.length > 0 ? (
            <span className="muted small">
              {formatInteger(keys.data.filter((key) => key.state === "active").length)} active
            </span>
          ) : null
        }
      >
        {keys.isPending ? (
          <Skeleton lines={5} />
        ) : keys.isError ? (
          <ErrorNotice error={keys.error} onRetry={() => void keys.refetch()} />
        ) : keys.data.length === 0 ? (
          <EmptyState title="No API keys yet">
            <p>Create a key above, then send it with each request as <code>Authorization: Bearer …</code>.</p>
          </EmptyState>
        ) : (
          <KeysTable
            keys={keys.data}
            onRevoke={(key) => {
              revoke.reset();
              setRevoking(key);
            }}
            onRenamed={(name) => setFlash(`Key renamed to “${name}”.`)}
          />
        )}
      </Card>

      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this API key?"
        confirmLabel="Revoke key"
        danger
        busy={revoke.isPending}
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking);
        }}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
      >
        {revoking ? (
          <>
            <p>
              <strong>{revoking.name}</strong> (<span className="mono">{revoking.prefix}…</span>) stops working:
              requests that use it are refused from now on, on every server within a few seconds. This
              cannot be undone.
            </p>
            {revoke.error ? <ErrorNotice error={revoke.error} /> : null}
          </>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

/** The new key's secret, once: a copy button, a warning, and a way to put it away. */
export function SecretPanel({ revealed, onDismiss }: { revealed: Revealed; onDismiss: () => void }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  const headingId = useId();
  useEffect(() => {
    headingRef.current?.focus();
  }, [revealed.secret]);
  return (
    <section className="card key-reveal" aria-labelledby={headingId}>
      <h2 id={headingId} ref={headingRef} tabIndex={-1}>Your new key “{revealed.name}”</h2>
      <div className="notice notice-warning key-reveal-warning">
        <p className="notice-title">Copy it now: it will not be shown again.</p>
        <p>
          Store it somewhere safe, such as your server's environment or a secrets manager. If you lose it,
          revoke it and create a new one.
        </p>
      </div>
      <div className="key-reveal-row">
        <code className="secret" data-testid="new-key-secret">{revealed.secret}</code>
        <CopyButton value={revealed.secret} />
      </div>
      <p className="hint">
        Send it as <code>Authorization: Bearer {revealed.prefix}…</code> or <code>X-API-Key: {revealed.prefix}…</code>.{" "}
        <Link to="/quickstart">Quickstart</Link>
      </p>
      <div className="key-reveal-actions">
        <Button variant="secondary" onClick={onDismiss}>Done, I've saved it</Button>
      </div>
    </section>
  );
}

type FormErrors = { name?: string; rpm?: string; scopes?: string };

function CreateKeyForm({ onCreated }: { onCreated: (revealed: Revealed) => void }) {
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [rpm, setRpm] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(SCOPES.map((scope) => scope.value));
  const [errors, setErrors] = useState<FormErrors>({});
  const scopesErrorId = useId();
  // gcTime 0 and reset() on success: the answer (which holds the secret) does not linger in
  // react-query's mutation cache.
  const create = useMutation({
    mutationFn: (body: KeyFields) => unwrap(api.POST("/account/keys", { body })),
    gcTime: 0,
  });

  function validate(): { body: KeyFields } | { errors: FormErrors } {
    const found: FormErrors = {};
    const trimmed = name.trim();
    if (trimmed.length > NAME_MAX) found.name = `At most ${NAME_MAX} characters.`;
    const rawRpm = rpm.trim();
    let rateLimit: number | null = null;
    if (rawRpm !== "") {
      const value = Number(rawRpm);
      if (!/^\d+$/.test(rawRpm) || !Number.isSafeInteger(value) || value < 1) found.rpm = "A whole number, 1 or more.";
      else if (value > RPM_MAX) found.rpm = `At most ${formatInteger(RPM_MAX)}.`;
      else rateLimit = value;
    }
    if (scopes.length === 0) found.scopes = "Choose at least one scope.";
    if (Object.keys(found).length) return { errors: found };
    const body: KeyFields = {
      name: trimmed || "default",
      scopes: SCOPES.map((scope) => scope.value).filter((value) => scopes.includes(value)),
    };
    if (rateLimit !== null) body.rate_limit_rpm = rateLimit;
    return { body };
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const checked = validate();
    if ("errors" in checked) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    try {
      const created = await create.mutateAsync(checked.body);
      onCreated({ id: created.key.id, name: created.key.name, prefix: created.key.prefix, secret: created.secret });
      create.reset();
      setName("");
      setRpm("");
      setScopes(SCOPES.map((scope) => scope.value));
      void client.invalidateQueries({ queryKey: KEYS });
    } catch {
      // shown below, from create.error
    }
  }

  function toggle(value: Scope, on: boolean) {
    setScopes((current) => (on ? [...current, value] : current.filter((item) => item !== value)));
  }

  return (
    <Card title="Create a key">
      <form onSubmit={submit} noValidate className="keys-form">
        <div className="keys-form-grid">
          <Field
            label="Name"
            hint="Optional: something to tell keys apart, like “production-server”."
            error={errors.name}
          >
            {(id, describedBy) => (
              <input
                id={id}
                aria-describedby={describedBy}
                aria-invalid={errors.name ? true : undefined}
                value={name}
                onChange={(event) => setName(event.target.value)}
                maxLength={NAME_MAX}
                placeholder="default"
                autoComplete="off"
              />
            )}
          </Field>
          <Field
            label="Requests per minute"
            hint="Optional: leave empty for the server's default limit."
            error={errors.rpm}
          >
            {(id, describedBy) => (
              <input
                id={id}
                type="number"
                inputMode="numeric"
                min={1}
                step={1}
                aria-describedby={describedBy}
                aria-invalid={errors.rpm ? true : undefined}
                value={rpm}
                onChange={(event) => setRpm(event.target.value)}
                placeholder="Default"
              />
            )}
          </Field>
        </div>
        <fieldset className="keys-scopes" aria-describedby={errors.scopes ? scopesErrorId : undefined}>
          <legend>Scopes</legend>
          <div className="keys-scope-list">
            {SCOPES.map((scope) => (
              <label key={scope.value} className="keys-scope">
                <input
                  type="checkbox"
                  checked={scopes.includes(scope.value)}
                  onChange={(event) => toggle(scope.value, event.target.checked)}
                />
                <span>
                  <span className="keys-scope-name">{scope.label} <code>{scope.value}</code></span>
                  <span className="hint">{scope.hint}</span>
                </span>
              </label>
            ))}
          </div>
          {errors.scopes ? <p id={scopesErrorId} className="field-error" role="alert">{errors.scopes}</p> : null}
        </fieldset>
        {create.error ? <CreateError error={create.error} /> : null}
        <div className="keys-form-actions">
          <Button type="submit" busy={create.isPending}>Create key</Button>
        </div>
      </form>
    </Card>
  );
}

function CreateError({ error }: { error: unknown }) {
  const unverified = error instanceof ApiError && error.code === "email_not_verified";
  return (
    <>
      <ErrorNotice error={error} />
      {unverified ? (
        <p className="notice notice-info">
          Confirm your email address first: open the link we sent to your inbox, then create the key.{" "}
          <Link to="/verify">Send the link again</Link>
        </p>
      ) : null}
    </>
  );
}

const STATE_TONE: Record<string, "success" | "danger" | "warning" | "neutral"> = {
  active: "success",
  revoked: "danger",
  expired: "warning",
};

function sortKeys(keys: KeyOut[]): KeyOut[] {
  const rank = (key: KeyOut) => (key.state === "active" ? 0 : 1);
  return [...keys].sort((a, b) => rank(a) - rank(b) || b.created_at.localeCompare(a.created_at));
}

function KeysTable({
  keys, onRevoke, onRenamed,
}: { keys: KeyOut[]; onRevoke: (key: KeyOut) => void; onRenamed: (name: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="keys-table">
        <thead>
          <tr>
            <th scope="col">Name and key</th>
            <th scope="col">Scopes</th>
            <th scope="col">Rate limit</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col" className="numeric">Characters this period</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {sortKeys(keys).map((key) => (
            <KeyRow key={key.id} item={key} onRevoke={onRevoke} onRenamed={onRenamed} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KeyRow({ item, onRevoke, onRenamed }: { item: KeyOut; onRevoke: (key: KeyOut) => void; onRenamed: (name: string) => void }) {
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(item.name);
  const [draftError, setDraftError] = useState<string | null>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const nameId = useId();
  const active = item.state === "active";

  const rename = useMutation({
    mutationFn: (name: string) =>
      unwrap(api.PATCH("/account/keys/{key_id}", { params: { path: { key_id: item.id } }, body: { name } })),
    onSuccess: (updated) => {
      client.setQueryData<KeyOut[]>(KEYS, (list) =>
        list?.map((key) => (key.id === updated.id ? { ...key, name: updated.name } : key)),
      );
      void client.invalidateQueries({ queryKey: KEYS });
      close();
      onRenamed(updated.name);
    },
  });

  function open() {
    setDraft(item.name);
    setDraftError(null);
    rename.reset();
    setEditing(true);
  }

  function close() {
    setEditing(false);
    // back to the button that opened the editor, once it is rendered again
    window.setTimeout(() => renameButton.current?.focus(), 0);
  }

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = draft.trim();
    if (!name) return setDraftError("A key needs a name.");
    if (name.length > NAME_MAX) return setDraftError(`At most ${NAME_MAX} characters.`);
    if (name === item.name) return close();
    setDraftError(null);
    rename.mutate(name);
  }

  function onKeyDown(event: KeyboardEvent<HTMLFormElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  }

  return (
    <tr data-testid="key-row" className={active ? undefined : "keys-row-inactive"}>
      <td data-label="Name and key" className="keys-name-cell">
        {editing ? (
          <form className="keys-rename" onSubmit={save} onKeyDown={onKeyDown} noValidate>
            <Field label="New name" error={draftError}>
              {(id, describedBy) => (
                <input
                  id={id}
                  aria-describedby={describedBy}
                  aria-invalid={draftError ? true : undefined}
                  value={draft}
                  onChange={(event) => setDraft(event.target.value)}
                  maxLength={NAME_MAX}
                  autoComplete="off"
                  autoFocus
                />
              )}
            </Field>
            {rename.error ? <ErrorNotice error={rename.error} /> : null}
            <div className="keys-rename-actions">
              <Button type="submit" busy={rename.isPending}>Save</Button>
              <Button variant="secondary" onClick={close}>Cancel</Button>
            </div>
          </form>
        ) : (
          <span id={nameId} className="keys-name">{item.name}</span>
        )}
        <span className="keys-prefix mono" title="The key's first characters: the rest is never shown again">{item.prefix}…</span>
      </td>
      <td data-label="Scopes">
        <span className="keys-badges">
          {item.scopes.map((scope) => <Badge key={scope} tone="info">{scope}</Badge>)}
        </span>
      </td>
      <td data-label="Rate limit" className="keys-nowrap">
        {item.rate_limit_rpm ? `${formatInteger(item.rate_limit_rpm)} / min` : <span className="muted">Default</span>}
      </td>
      <td data-label="Created">
        <time dateTime={item.created_at} title={formatDateTime(item.created_at)}>{formatDate(item.created_at)}</time>
      </td>
      <td data-label="Last used">
        {item.last_used_at ? (
          <time dateTime={item.last_used_at} title={formatDateTime(item.last_used_at)}>{formatRelative(item.last_used_at)}</time>
        ) : (
          <span className="muted">Never</span>
        )}
      </td>
      <td data-label="Characters this period" className="numeric">
        {formatInteger(item.period_chars_used)}
        {item.monthly_char_cap !== null ? <span className="muted small"> / {formatInteger(item.monthly_char_cap)}</span> : null}
      </td>
      <td data-label="State">
        <span className="keys-state">
          <Badge tone={STATE_TONE[item.state] ?? "neutral"}>{item.state}</Badge>
          {active && item.expires_at ? (
            <span className="muted small">expires {formatDate(item.expires_at)}</span>
          ) : null}
          {item.state === "revoked" && item.revoked_at ? (
            <span className="muted small">{formatDate(item.revoked_at)}</span>
          ) : null}
          {item.state === "expired" && item.expires_at ? (
            <span className="muted small">{formatDate(item.expires_at)}</span>
          ) : null}
        </span>
      </td>
      <td data-label="Actions">
        {active && !editing ? (
          <span className="keys-actions">
            <button ref={renameButton} type="button" className="button button-secondary" onClick={open} aria-describedby={nameId}>
              Rename
            </button>
            <Button variant="danger" onClick={() => onRevoke(item)} aria-describedby={nameId}>Revoke</Button>
          </span>
        ) : null}
      </td>
    </tr>
  );
}
