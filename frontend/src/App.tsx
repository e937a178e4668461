import { lazy, Suspense } from "react";
import { Link, Outlet, Route, Routes } from "react-router-dom";
import { AppLayout, FullPageLoading, PublicLayout } from "./components/Layout";
import { EmptyState } from "./components/ui";
import { useSession } from "./lib/session";
import { Landing } from "./pages/Landing";
import { LogIn } from "./pages/LogIn";
import { NotFound } from "./pages/NotFound";
import { SignUp } from "./pages/SignUp";

// Pages load when first visited: the first screen downloads only what it shows.
const Overview = lazy(() => import("./pages/Overview").then((module) => ({ default: module.Overview })));
const Billing = lazy(() => import("./pages/Billing").then((module) => ({ default: module.Billing })));
const ConfirmEmail = lazy(() => import("./pages/ConfirmEmail").then((module) => ({ default: module.ConfirmEmail })));
const ForgotPassword = lazy(() => import("./pages/ForgotPassword").then((module) => ({ default: module.ForgotPassword })));
const Jobs = lazy(() => import("./pages/Jobs").then((module) => ({ default: module.Jobs })));
const Keys = lazy(() => import("./pages/Keys").then((module) => ({ default: module.Keys })));
const Playground = lazy(() => import("./pages/Playground").then((module) => ({ default: module.Playground })));
const Pricing = lazy(() => import("./pages/Pricing").then((module) => ({ default: module.Pricing })));
const Quickstart = lazy(() => import("./pages/Quickstart").then((module) => ({ default: module.Quickstart })));
const ResetPassword = lazy(() => import("./pages/ResetPassword").then((module) => ({ default: module.ResetPassword })));
const Verify = lazy(() => import("./pages/Verify").then((module) => ({ default: module.Verify })));
const Webhooks = lazy(() => import("./pages/Webhooks").then((module) => ({ default: module.Webhooks })));
const AdminOverview = lazy(() => import("./pages/admin/AdminOverview").then((module) => ({ default: module.AdminOverview })));
const AdminAccounts = lazy(() => import("./pages/admin/AdminAccounts").then((module) => ({ default: module.AdminAccounts })));
const AdminAudit = lazy(() => import("./pages/admin/AdminAudit").then((module) => ({ default: module.AdminAudit })));
const AdminBilling = lazy(() => import("./pages/admin/AdminBilling").then((module) => ({ default: module.AdminBilling })));

/** The operator pages, for operators only: anyone else gets a plain answer (and no admin code). */
export function OperatorOnly() {
  const me = useSession().data;
  if (!me?.is_admin) {
    return (
      <EmptyState
        title="This page is for operators"
        action={<Link className="button button-primary" to="/overview">Back to your overview</Link>}
      >
        <p>Your account cannot manage this server. Ask an operator if you need something changed.</p>
      </EmptyState>
    );
  }
  return <Outlet />;
}

export function App() {
  return (
    <Suspense fallback={<FullPageLoading />}>
      <Routes>
      <Route element={<PublicLayout />}>
        <Route index element={<Landing />} />
        <Route path="pricing" element={<Pricing />} />
        <Route path="signup" element={<SignUp />} />
        <Route path="login" element={<LogIn />} />
        <Route path="verify" element={<Verify />} />
        <Route path="forgot-password" element={<ForgotPassword />} />
        <Route path="reset-password" element={<ResetPassword />} />
        <Route path="confirm-email" element={<ConfirmEmail />} />
      </Route>
      <Route element={<AppLayout />}>
        <Route path="overview" element={<Overview />} />
        <Route path="playground" element={<Playground />} />
        <Route path="keys" element={<Keys />} />
        <Route path="jobs" element={<Jobs />} />
        <Route path="webhooks" element={<Webhooks />} />
        <Route path="billing" element={<Billing />} />
        <Route path="quickstart" element={<Quickstart />} />
        <Route path="admin" element={<OperatorOnly />}>
          <Route index element={<AdminOverview />} />
          <Route path="accounts" element={<AdminAccounts />} />
          <Route path="audit" element={<AdminAudit />} />
          <Route path="billing" element={<AdminBilling />} />
        </Route>
      </Route>
      <Route element={<PublicLayout />}>
        <Route path="*" element={<NotFound />} />
      </Route>
      </Routes>
    </Suspense>
  );
}
