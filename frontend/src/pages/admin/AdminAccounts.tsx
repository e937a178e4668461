// Operator view of every account: a searchable, paged table, and a side panel per account with
// its usage this period, its plan and own limits (editable), what Stripe knows of it, and the
// suspend / reactivate switch behind a confirmation that names the account.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Drawer } from "../../components/Drawer";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Meter } from "../../components/Meter";
import { type Plan, describePrice, usePlans } from "../../components/PlanCards";
import {
  Badge, Button, Card, ConfirmDialog, CopyButton, EmptyState, Field, PageHeader, RefreshButton, Skeleton,
  TableSkeleton,
} from "../../components/ui";
import { formatDate, formatDateTime, formatInteger, formatMoney, formatRelative, percentUsed } from "../../lib/format";
import { useSession } from "../../lib/session";
import { ADMIN_KEY, Cell, PagedList, humanize, parsePage, rangeLabel, useDebounced, useQueryParams } from "./shared";
import "./Admin.css";

export type Account = components["schemas"]["AccountOut"];
export type AccountUpdate = components["schemas"]["AccountUpdate"];
type AccountPage = components["schemas"]["Page_AccountOut_"];
type Tone = "neutral" | "success" | "warning" | "danger" | "info";

export const PAGE_SIZE = 25;
/** How long the search box waits after the last key before it asks the server. */
export const SEARCH_DELAY_MS = 300;
/** The largest limit the server takes (its MAX_ACCOUNT_LIMIT, 2^53 − 1). */
export const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

const ACCOUNTS_KEY = [ADMIN_KEY, "accounts"] as const;
const accountKey = (id: string) => [ADMIN_KEY, "account", id] as const;

// --- rules (unit-tested) ------------------------------------------------------------------------

const STATUS_TONE: Record<string, Tone> = { active: "success", suspended: "danger", deleted: "neutral" };

export function statusTone(status: string): Tone {
  return STATUS_TONE[status] ?? "warning";
}

const SUBSCRIPTION_TONE: Record<string, Tone> = {
  active: "success",
  trialing: "info",
  past_due: "warning",
  unpaid: "danger",
  incomplete: "warning",
  incomplete_expired: "neutral",
  canceled: "neutral",
  paused: "neutral",
};

export function subscriptionTone(status: string): Tone {
  return SUBSCRIPTION_TONE[status] ?? "neutral";
}

/** What the limit fields of the edit form hold: text, as typed. */
export type LimitsDraft = { plan: string; charLimit: string; secondsLimit: string };
export type DraftErrors = Partial<Record<keyof LimitsDraft, string>>;

export function draftOf(account: Account): LimitsDraft {
  return {
    plan: account.plan,
    charLimit: account.char_limit_override === null ? "" : String(account.char_limit_override),
    secondsLimit: account.seconds_limit_override === null ? "" : String(account.seconds_limit_override),
  };
}

/**
 * One limit field against the account's own limit now: `unchanged`, a new `value`, or an
 * `error`. Empty means "the plan's"; the server keeps an own limit once set, so emptying a field
 * that holds one cannot be saved.
 */
export function parseLimit(raw: string, current: number | null): { unchanged: true } | { value: number | null } | { error: string } {
  const text = raw.replace(/[\s,_]/g, "");
  if (text === "") return current === null ? { unchanged: true } : { value: null }; // back to the plan's
  if (!/^\d+$/.test(text)) return { error: "A whole number, 0 or more." };
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > MAX_LIMIT) return { error: `At most ${formatInteger(MAX_LIMIT)}.` };
  return value === current ? { unchanged: true } : { value };
}

/** The PATCH body for what the form changed (empty: nothing to save), or what is wrong with it. */
export function buildUpdate(account: Account, draft: LimitsDraft): { body: AccountUpdate } | { errors: DraftErrors } {
  const errors: DraftErrors = {};
  const body: AccountUpdate = {};
  if (!draft.plan) errors.plan = "Choose a plan.";
  else if (draft.plan !== account.plan) body.plan = draft.plan;
  const chars = parseLimit(draft.charLimit, account.char_limit_override);
  if ("error" in chars) errors.charLimit = chars.error;
  else if ("value" in chars) body.char_limit = chars.value;
  const seconds = parseLimit(draft.secondsLimit, account.seconds_limit_override);
  if ("error" in seconds) errors.secondsLimit = seconds.error;
  else if ("value" in seconds) body.seconds_limit = seconds.value;
  return Object.keys(errors).length ? { errors } : { body };
}

/** "1,234 / 10,000" or "1,234 / no cap": characters used this period against the limit. */
export function usageLabel(used: number, limit: number | null): string {
  return `${formatInteger(used)} / ${limit === null ? "no cap" : formatInteger(limit)}`;
}

// --- data ------------------------------------------------------------------------------------------

function useUpdateAccount(accountId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: AccountUpdate) =>
      unwrap(api.PATCH("/admin/api/accounts/{account_id}", { params: { path: { account_id: accountId } }, body })),
    onSuccess: (updated) => {
      client.setQueryData(accountKey(updated.id), updated);
      client.setQueriesData<AccountPage>({ queryKey: ACCOUNTS_KEY }, (page) =>
        page ? { ...page, data: page.data.map((item) => (item.id === updated.id ? updated : item)) } : page,
      );
      void client.invalidateQueries({ queryKey: ACCOUNTS_KEY });
      void client.invalidateQueries({ queryKey: [ADMIN_KEY, "audit"] });
    },
  });
}

// --- page ------------------------------------------------------------------------------------------

export function AdminAccounts() {
  const [params, update] = useQueryParams();
  const urlQuery = params.get("q") ?? "";
  const page = parsePage(params.get("page"));
  const offset = (page - 1) * PAGE_SIZE;
  const selectedId = params.get("account");

  const [search, setSearch] = useState(urlQuery);
  const typed = useDebounced(search.trim(), SEARCH_DELAY_MS);
  // The last search this page wrote into the URL: a different `q` there came from elsewhere
  // (back button, a link), and the box follows it.
  const written = useRef(urlQuery);

  useEffect(() => {
    if (typed === written.current) return;
    written.current = typed;
    update({ q: typed || null, page: null }, true);
  }, [typed]); // only a new search writes the URL

  useEffect(() => {
    if (urlQuery === written.current) return;
    written.current = urlQuery;
    setSearch(urlQuery);
  }, [urlQuery]);

  const accounts = useQuery({
    queryKey: [...ACCOUNTS_KEY, { email: urlQuery, offset, limit: PAGE_SIZE }],
    queryFn: () => unwrap(api.GET("/admin/api/accounts", {
      params: { query: { limit: PAGE_SIZE, offset, ...(urlQuery ? { email: urlQuery } : {}) } },
    })),
    placeholderData: keepPreviousData,
  });
  const data = accounts.data;
  const selectedFromList = data?.data.find((account) => account.id === selectedId);
  const searching = search.trim() !== urlQuery || (accounts.isFetching && accounts.isPlaceholderData);

  function clearSearch() {
    setSearch("");
    written.current = "";
    update({ q: null, page: null });
  }

  return (
    <div className="admin-page">
      <PageHeader
        title="Accounts"
        description="Every account on this server: plan, status and this period's usage. Open one to change its plan or limits, or to suspend it."
        actions={<RefreshButton query={accounts} />}
      />

      <Card>
        <div className="admin-toolbar">
          <form className="admin-search" role="search" onSubmit={(event) => event.preventDefault()}>
            <Field label="Search by email" hint="Any part of the address, such as “@example.com”.">
              {(id, describedBy) => (
                <input
                  id={id}
                  type="search"
                  aria-describedby={describedBy}
                  value={search}
                  onChange={(event) => setSearch(event.target.value)}
                  onKeyDown={(event) => {
                    if (event.key === "Escape" && search) {
                      event.preventDefault();
                      clearSearch();
                    }
                  }}
                  autoComplete="off"
                  spellCheck={false}
                  maxLength={320}
                />
              )}
            </Field>
          </form>
          <p className="muted small admin-count" aria-live="polite">
            {searching ? "Searching…" : data ? `${rangeLabel(offset, data.data.length, data.total)} accounts` : ""}
          </p>
        </div>

        <PagedList
          query={accounts}
          page={page}
          pageSize={PAGE_SIZE}
          label="Account pages"
          onPage={(next) => update({ page: next > 1 ? String(next) : null })}
          skeleton={<AccountsSkeleton />}
          empty={urlQuery ? (
            <EmptyState
              title={`No account matches “${urlQuery}”`}
              action={<Button variant="secondary" onClick={clearSearch}>Clear the search</Button>}
            >
              <p>The search looks for the text anywhere in the email address.</p>
            </EmptyState>
          ) : page > 1 ? (
            <EmptyState
              title="Nothing on this page"
              action={<Button variant="secondary" onClick={() => update({ page: null })}>Back to the first page</Button>}
            />
          ) : (
            <EmptyState title="No accounts yet">
              <p>
                Accounts appear here when people sign up, or when you create one with{" "}
                <code>vocalis accounts create</code>.
              </p>
            </EmptyState>
          )}
        >
          {(rows) => <AccountsTable accounts={rows} onEdit={(id) => update({ account: id })} />}
        </PagedList>
      </Card>

      {selectedId ? (
        <AccountDrawer
          key={selectedId}
          accountId={selectedId}
          fromList={selectedFromList}
          onClose={() => update({ account: null })}
        />
      ) : null}
    </div>
  );
}

const COLUMNS = ["Account", "Plan", "Status", "Characters this period", "Created", "Actions"] as const;

function AccountsSkeleton() {
  return (
    <TableSkeleton
      columns={COLUMNS}
      rows={6}
      label="Loading accounts"
      tableClassName="admin-table admin-cards"
      cellClassName="admin-skeleton-cell"
    />
  );
}

function AccountsTable({ accounts, onEdit }: { accounts: Account[]; onEdit: (id: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="admin-table admin-cards">
        <caption className="visually-hidden">Accounts, oldest first</caption>
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column} scope="col" className={column === "Characters this period" ? "numeric" : undefined}>
                {column === "Actions" ? <span className="visually-hidden">Actions</span> : column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {accounts.map((account) => <AccountRow key={account.id} account={account} onEdit={onEdit} />)}
        </tbody>
      </table>
    </div>
  );
}

function AccountRow({ account, onEdit }: { account: Account; onEdit: (id: string) => void }) {
  const emailId = useId();
  const percent = percentUsed(account.chars_used, account.char_limit);
  const tone = percent === null ? "ok" : percent >= 100 ? "full" : percent >= 80 ? "high" : "ok";
  return (
    <tr data-testid="account-row" className={account.status === "active" ? undefined : "admin-row-inactive"}>
      <td data-label="Account" className="admin-primary-cell">
        <span id={emailId} className="admin-email">{account.email}</span>
        <span className="mono muted small admin-sub">{account.id}</span>
      </td>
      <Cell label="Plan">
        <span>{account.plan}</span>
        {account.payment_overdue_since ? <Badge tone="danger">payment overdue</Badge> : null}
        {account.subscription_status && account.subscription_status !== "active" && !account.payment_overdue_since ? (
          <Badge tone={subscriptionTone(account.subscription_status)}>{humanize(account.subscription_status).toLowerCase()}</Badge>
        ) : null}
        {account.plan_ends_at ? <span className="muted small">ends {formatDate(account.plan_ends_at)}</span> : null}
      </Cell>
      <td data-label="Status">
        <Badge tone={statusTone(account.status)}>{account.status}</Badge>
      </td>
      <td data-label="Characters this period" className="numeric">
        <div className="admin-cell admin-cell-end">
          <span className="admin-nowrap">{usageLabel(account.chars_used, account.char_limit)}</span>
          {percent !== null ? (
            <span className={`admin-usage-bar admin-usage-${tone}`} aria-hidden="true">
              <span className="admin-usage-fill" style={{ width: `${percent}%` }} />
            </span>
          ) : null}
          {account.char_limit_override !== null ? <span className="muted small">own limit</span> : null}
        </div>
      </td>
      <td data-label="Created">
        <time className="admin-nowrap" dateTime={account.created_at} title={formatDateTime(account.created_at)}>
          {formatDate(account.created_at)}
        </time>
      </td>
      <td data-label="Actions" className="admin-actions">
        <Button variant="secondary" onClick={() => onEdit(account.id)} aria-describedby={emailId}>Edit</Button>
      </td>
    </tr>
  );
}

// --- side panel ------------------------------------------------------------------------------------

function AccountDrawer({ accountId, fromList, onClose }: { accountId: string; fromList: Account | undefined; onClose: () => void }) {
  const account = useQuery({
    queryKey: accountKey(accountId),
    queryFn: () => unwrap(api.GET("/admin/api/accounts/{account_id}", { params: { path: { account_id: accountId } } })),
    placeholderData: fromList,
  });
  const current = account.data;

  return (
    <Drawer
      block="admin-drawer"
      title="Edit account"
      subtitle={<span className="admin-email">{current?.email ?? accountId}</span>}
      closeLabel="Close the account panel"
      onClose={onClose}
    >
      {account.isError && !current ? (
        <ErrorNotice error={account.error} onRetry={() => void account.refetch()} />
      ) : !current ? (
        <div aria-busy="true" aria-label="Loading the account">
          <Skeleton height={60} />
          <div className="admin-gap" />
          <Skeleton lines={8} />
        </div>
      ) : (
        <AccountDetail account={current} />
      )}
    </Drawer>
  );
}

function AccountDetail({ account }: { account: Account }) {
  const plans = usePlans();
  const plan = plans.data?.find((item) => item.id === account.plan);
  const currency = plan?.currency ?? plans.data?.[0]?.currency ?? null;
  const audioUsed = account.audio_ms_used / 1000;
  const hasStripe = Boolean(
    account.stripe_customer_id || account.stripe_subscription_id || account.subscription_status ||
    account.subscribed_plan || account.payment_overdue_since || account.plan_ends_at ||
    (account.spend_cap_cents !== null && account.spend_cap_cents !== undefined),
  );
  return (
    <>
      <div className="admin-drawer-status">
        <Badge tone={statusTone(account.status)}>{account.status}</Badge>
        <span className="muted small">Created {formatDate(account.created_at)}</span>
      </div>

      <dl className="admin-facts">
        <div>
          <dt>Account ID</dt>
          <dd className="admin-fact-copy">
            <span className="mono">{account.id}</span>
            <CopyButton value={account.id} label="Copy ID" />
          </dd>
        </div>
        <div>
          <dt>Plan</dt>
          <dd>{plan ? planOption(plan) : account.plan}</dd>
        </div>
      </dl>

      <section className="admin-section" aria-labelledby="admin-usage-heading">
        <h3 id="admin-usage-heading">This period</h3>
        <div className="admin-meters">
          <Meter label="Characters" used={account.chars_used} limit={account.char_limit} unit="characters" />
          <Meter label="Audio" used={audioUsed} limit={account.seconds_limit} unit="seconds" />
        </div>
        {account.period_start || account.period_end ? (
          <p className="muted small">
            {formatDate(account.period_start)} – {formatDate(account.period_end)}
            {account.period_end ? ` (resets ${formatRelative(account.period_end)})` : ""}
          </p>
        ) : null}
      </section>

      <section className="admin-section" aria-labelledby="admin-limits-heading">
        <h3 id="admin-limits-heading">Plan and limits</h3>
        <LimitsForm
          key={account.id}
          account={account}
          plans={plans}
        />
      </section>

      <section className="admin-section" aria-labelledby="admin-billing-heading">
        <h3 id="admin-billing-heading">Billing</h3>
        {hasStripe ? (
          <dl className="admin-facts">
            {account.stripe_customer_id ? (
              <div>
                <dt>Stripe customer</dt>
                <dd className="mono">{account.stripe_customer_id}</dd>
              </div>
            ) : null}
            {account.stripe_subscription_id ? (
              <div>
                <dt>Subscription</dt>
                <dd className="mono">{account.stripe_subscription_id}</dd>
              </div>
            ) : null}
            {account.subscription_status ? (
              <div>
                <dt>Subscription status</dt>
                <dd>
                  <Badge tone={subscriptionTone(account.subscription_status)}>{humanize(account.subscription_status).toLowerCase()}</Badge>
                </dd>
              </div>
            ) : null}
            {account.subscribed_plan ? (
              <div>
                <dt>Subscribed plan</dt>
                <dd>{plans.data?.find((item) => item.id === account.subscribed_plan)?.name ?? account.subscribed_plan}</dd>
              </div>
            ) : null}
            {account.payment_overdue_since ? (
              <div>
                <dt>Payment overdue since</dt>
                <dd className="admin-danger-text">{formatDateTime(account.payment_overdue_since)}</dd>
              </div>
            ) : null}
            {account.plan_ends_at ? (
              <div>
                <dt>Plan ends</dt>
                <dd>{formatDateTime(account.plan_ends_at)}</dd>
              </div>
            ) : null}
            {account.spend_cap_cents !== null && account.spend_cap_cents !== undefined ? (
              <div>
                <dt>Spend cap</dt>
                <dd>
                  {currency ? formatMoney(account.spend_cap_cents, currency) : `${formatInteger(account.spend_cap_cents)} cents`} a month
                </dd>
              </div>
            ) : null}
          </dl>
        ) : (
          <p className="muted small">No Stripe customer: this account has not subscribed through Stripe.</p>
        )}
      </section>

      <StatusSection account={account} />

      <p className="admin-drawer-links small">
        <Link to={`/admin/audit?target=${encodeURIComponent(account.id)}`}>Audit log of this account</Link>
        <Link to={`/admin/billing?account=${encodeURIComponent(account.id)}`}>Billing events of this account</Link>
      </p>
    </>
  );
}

type PlansQuery = { data?: Plan[]; isPending: boolean; isError: boolean };

/** "Pro — €29 / month"; a free plan named "Free" is just "Free". */
export function planOption(plan: Plan): string {
  const price = describePrice(plan);
  return price === plan.name ? plan.name : `${plan.name} — ${price}`;
}

function allowanceText(plan: Plan | undefined, kind: "characters" | "audio_seconds"): string {
  if (!plan) return "the plan's allowance";
  const value = plan[kind];
  if (value === null) return `the ${plan.name} plan's: no monthly cap`;
  return `the ${plan.name} plan's ${formatInteger(value)}${kind === "audio_seconds" ? " s" : ""}`;
}

function LimitsForm({ account, plans }: { account: Account; plans: PlansQuery }) {
  const [draft, setDraft] = useState<LimitsDraft>(() => draftOf(account));
  const [errors, setErrors] = useState<DraftErrors>({});
  const [notice, setNotice] = useState<string | null>(null);
  const save = useUpdateAccount(account.id);
  const chosen = plans.data?.find((item) => item.id === draft.plan);
  const known = plans.data?.some((item) => item.id === account.plan) ?? false;
  const initial = draftOf(account);
  const dirty = draft.plan !== initial.plan || draft.charLimit !== initial.charLimit || draft.secondsLimit !== initial.secondsLimit;

  function set(field: keyof LimitsDraft, value: string) {
    setDraft((current) => ({ ...current, [field]: value }));
    setNotice(null);
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const checked = buildUpdate(account, draft);
    if ("errors" in checked) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    if (Object.keys(checked.body).length === 0) {
      setNotice("Nothing has changed.");
      return;
    }
    try {
      const updated = await save.mutateAsync(checked.body);
      setDraft(draftOf(updated));
      setNotice("Changes saved: they apply from the next request.");
    } catch {
      // shown below, from save.error
    }
  }

  function limitHint(kind: "characters" | "audio_seconds", override: number | null): string {
    const plan = allowanceText(chosen, kind);
    return override === null
      ? `Empty: ${plan}.`
      : `This account's own limit, instead of ${plan}.`;
  }

  const planHint = plans.isError
    ? "The plans could not be loaded: the plan cannot be changed right now."
    : account.stripe_subscription_id
      ? "Changes the plan here only: the Stripe subscription is not changed."
      : chosen
        ? describePrice(chosen)
        : undefined;

  return (
    <form className="admin-limits" onSubmit={submit} noValidate>
      <Field label="Plan" hint={planHint} error={errors.plan}>
        {(id, describedBy) => (
          <select
            id={id}
            aria-describedby={describedBy}
            value={draft.plan}
            disabled={!plans.data}
            onChange={(event) => set("plan", event.target.value)}
          >
            {!known ? <option value={account.plan}>{account.plan}{plans.data ? " (not on sale)" : ""}</option> : null}
            {plans.data?.map((item) => (
              <option key={item.id} value={item.id}>{planOption(item)}</option>
            ))}
          </select>
        )}
      </Field>
      <div className="admin-form-grid">
        <LimitField
          label="Own character limit"
          hint={limitHint("characters", account.char_limit_override)}
          error={errors.charLimit}
          value={draft.charLimit}
          onChange={(value) => set("charLimit", value)}
          plans={chosen ? chosen.characters : undefined}
        />
        <LimitField
          label="Own audio limit (seconds)"
          hint={limitHint("audio_seconds", account.seconds_limit_override)}
          error={errors.secondsLimit}
          value={draft.secondsLimit}
          onChange={(value) => set("secondsLimit", value)}
          plans={chosen ? chosen.audio_seconds : undefined}
        />
      </div>
      {save.error ? <ErrorNotice error={save.error} /> : null}
      {notice ? <p className="notice notice-success admin-inline-notice" role="status">{notice}</p> : null}
      <div className="admin-form-actions">
        <Button
          variant="secondary"
          disabled={!dirty || save.isPending}
          onClick={() => {
            setDraft(initial);
            setErrors({});
            setNotice(null);
            save.reset();
          }}
        >
          Undo changes
        </Button>
        <Button type="submit" busy={save.isPending}>Save changes</Button>
      </div>
    </form>
  );
}

/** One of an account's own limits; empty means the plan's (`plans`: the chosen plan's figure,
 * null for no cap, undefined while no plan is chosen). */
function LimitField({ label, hint, error, value, onChange, plans }: {
  label: string; hint: string; error: string | undefined; value: string;
  onChange: (value: string) => void; plans: number | null | undefined;
}) {
  const placeholder = plans === undefined ? "Plan's" : plans === null ? "Plan's: no cap" : `Plan's: ${formatInteger(plans)}`;
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy) => (
        <input
          id={id}
          inputMode="numeric"
          autoComplete="off"
          aria-describedby={describedBy}
          aria-invalid={error ? true : undefined}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          placeholder={placeholder}
        />
      )}
    </Field>
  );
}

function StatusSection({ account }: { account: Account }) {
  const me = useSession().data;
  const [confirming, setConfirming] = useState(false);
  const [flash, setFlash] = useState<string | null>(null);
  const change = useUpdateAccount(account.id);
  const self = me?.id === account.id;
  const suspending = account.status === "active";
  const switchable = account.status === "active" || account.status === "suspended";

  return (
    <section className="admin-section" aria-labelledby="admin-status-heading">
      <h3 id="admin-status-heading">Access</h3>
      {flash ? (
        <p className="notice notice-success admin-inline-notice" role="status">{flash}</p>
      ) : null}
      {!switchable ? (
        <p className="muted small">This account was {account.status}: it cannot be reactivated.</p>
      ) : (
        <div className="admin-status-row">
          <p className="small">
            {suspending
              ? "Suspending stops its API keys and logins at once. Nothing is deleted: you can reactivate it later."
              : "Suspended: its API keys and logins are refused. Reactivating lets them work again."}
          </p>
          {suspending ? (
            <Button
              variant="danger"
              disabled={self}
              onClick={() => {
                change.reset();
                setFlash(null);
                setConfirming(true);
              }}
            >
              Suspend
            </Button>
          ) : (
            <Button
              variant="secondary"
              onClick={() => {
                change.reset();
                setFlash(null);
                setConfirming(true);
              }}
            >
              Reactivate
            </Button>
          )}
        </div>
      )}
      {self && suspending ? <p className="hint">This is your own account: you cannot suspend it from here.</p> : null}

      <ConfirmDialog
        open={confirming}
        title={suspending ? "Suspend this account?" : "Reactivate this account?"}
        confirmLabel={suspending ? "Suspend account" : "Reactivate account"}
        danger={suspending}
        busy={change.isPending}
        onCancel={() => {
          setConfirming(false);
          change.reset();
        }}
        onConfirm={() => {
          change.mutate(
            { status: suspending ? "suspended" : "active" },
            {
              onSuccess: (updated) => {
                setConfirming(false);
                setFlash(
                  updated.status === "suspended"
                    ? `${updated.email} is suspended: its keys and logins are refused from now on.`
                    : `${updated.email} is active again.`,
                );
              },
            },
          );
        }}
      >
        {suspending ? (
          <p>
            <strong className="admin-break">{account.email}</strong> will no longer be able to log in, and
            every request made with its API keys is refused from the next one on. Its keys, jobs and usage
            are kept.
          </p>
        ) : (
          <p>
            <strong className="admin-break">{account.email}</strong> can log in and use its API keys again,
            within its plan's limits.
          </p>
        )}
        {change.error ? <ErrorNotice error={change.error} /> : null}
      </ConfirmDialog>
    </section>
  );
}
