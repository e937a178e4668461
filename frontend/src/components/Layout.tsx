// The two frames of every page: the public site (landing, pricing, sign-up) and the signed-in
// app with its navigation. A page that needs a login sends the visitor to /login and back.
import { type ReactNode, Suspense, useState } from "react";
import { Link, NavLink, Navigate, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useSession, useSessionActions } from "../lib/session";
import { Skeleton } from "./ui";

const APP_LINKS = [
  { to: "/overview", label: "Overview" },
  { to: "/playground", label: "Playground" },
  { to: "/keys", label: "API keys" },
  { to: "/jobs", label: "Jobs" },
  { to: "/webhooks", label: "Webhooks" },
  { to: "/billing", label: "Billing" },
  { to: "/quickstart", label: "Docs" },
];

const ADMIN_LINKS = [
  { to: "/admin", label: "Admin overview", end: true },
  { to: "/admin/accounts", label: "Accounts", end: false },
  { to: "/admin/audit", label: "Audit log", end: false },
  { to: "/admin/billing", label: "Billing events", end: false },
];

function Logo() {
  return (
    <Link to="/" className="logo" aria-label="Vocalis home">
      <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M8 13v6M12 10v12M16 7v18M20 10v12M24 13v6" stroke="var(--logo-wave)" strokeWidth="2.4" strokeLinecap="round" />
      </svg>
      <span>Vocalis</span>
    </Link>
  );
}

export function PublicLayout() {
  const session = useSession();
  return (
    <div className="public">
      <header className="topbar">
        <Logo />
        <nav aria-label="Site" className="topnav">
          <NavLink to="/pricing">Pricing</NavLink>
          <a href="/docs">API reference</a>
          {session.data ? (
            <Link className="button button-primary" to="/overview">Dashboard</Link>
          ) : (
            <>
              <NavLink to="/login">Log in</NavLink>
              <Link className="button button-primary" to="/signup">Sign up</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" className="public-main">
        <Suspense fallback={<Skeleton lines={6} />}>
          <Outlet />
        </Suspense>
      </main>
      <footer className="footer muted">Vocalis — self-hosted neural text to speech</footer>
    </div>
  );
}

export function AppLayout() {
  const session = useSession();
  const { logOut } = useSessionActions();
  const navigate = useNavigate();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);

  if (session.isPending) return <FullPageLoading />;
  if (!session.data) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  const me = session.data;
  return (
    <div className="app">
      <a className="skip-link" href="#main">Skip to content</a>
      <aside className={`sidebar ${menuOpen ? "sidebar-open" : ""}`}>
        <div className="sidebar-head">
          <Logo />
          <button
            type="button"
            className="menu-button"
            aria-expanded={menuOpen}
            aria-controls="app-nav"
            onClick={() => setMenuOpen((open) => !open)}
          >
            Menu
          </button>
        </div>
        <nav id="app-nav" aria-label="Dashboard" className="sidenav" onClick={() => setMenuOpen(false)}>
          {APP_LINKS.map((link) => (
            <NavLink key={link.to} to={link.to}>{link.label}</NavLink>
          ))}
          {me.is_admin ? (
            <div role="group" aria-labelledby="admin-nav-heading" style={{ display: "flex", flexDirection: "column", gap: 2 }}>
              <p
                id="admin-nav-heading"
                className="muted small"
                style={{ margin: "14px 10px 4px", fontWeight: 600, textTransform: "uppercase", letterSpacing: "0.04em" }}
              >
                Admin
              </p>
              {ADMIN_LINKS.map((link) => (
                <NavLink key={link.to} to={link.to} end={link.end}>{link.label}</NavLink>
              ))}
            </div>
          ) : null}
        </nav>
        <div className="sidebar-foot">
          <p className="account-email" title={me.email}>{me.email}</p>
          <p className="muted small">Plan: {me.plan}</p>
          <button
            type="button"
            className="link-button"
            onClick={async () => {
              await logOut();
              navigate("/login");
            }}
          >
            Log out
          </button>
        </div>
      </aside>
      <main id="main" className="app-main">
        {!me.email_verified ? <VerifyBanner /> : null}
        <Suspense fallback={<Skeleton lines={6} />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

function VerifyBanner() {
  return (
    <div className="notice notice-warning" role="status">
      Confirm your email address to create API keys and use the playground: the link is in your
      inbox. <Link to="/verify">Resend it</Link>
    </div>
  );
}

export function FullPageLoading(): ReactNode {
  return (
    <div className="full-page-loading">
      <Skeleton lines={4} />
    </div>
  );
}
