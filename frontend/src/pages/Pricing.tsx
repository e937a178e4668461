// The plans in full: what each costs and allows, what every plan includes, and the questions
// people ask before they pay.
import { Link } from "react-router-dom";
import { type Plan, PlanCards, PlanLink, isPaid } from "../components/PlanCards";
import { PageHeader } from "../components/ui";
import { useSession } from "../lib/session";
import "./Landing.css";

const INCLUDED = [
  "Every voice on this server",
  "WAV, MP3, Opus, AAC, FLAC, raw PCM, μ-law and A-law",
  "Streaming, and the OpenAI-compatible endpoint",
  "Background jobs and batches with signed webhooks",
  "API keys with scopes and their own limits",
  "Usage charts and a log of every request",
];

/** One more line under a plan: how it behaves at its limit. */
export function planNote(plan: Plan): string {
  if (plan.metered) return "You choose the most a month may cost: set a spend cap, or none.";
  if (!isPaid(plan)) return "No card needed. Past the allowance, requests are refused until the next month.";
  return "Billed monthly. Past the allowance, requests are refused until the next period; upgrade any time.";
}

export function Pricing() {
  const session = useSession();
  const me = session.data;
  return (
    <div className="pricing">
      <PageHeader
        title="Pricing"
        description="Start free. Pay monthly for a bigger allowance, or pay only for the characters you use."
      />
      <PlanCards
        headingLevel={2}
        currentPlanId={me?.plan}
        extra={(plan) => <p className="small">{planNote(plan)}</p>}
        action={(plan, current) => <PlanLink plan={plan} current={current} loggedIn={Boolean(me)} />}
      />

      <section className="card pricing-included" aria-labelledby="pricing-included">
        <div className="card-head">
          <h2 id="pricing-included">Every plan includes</h2>
        </div>
        <ul>
          {INCLUDED.map((line) => <li key={line}>{line}</li>)}
        </ul>
      </section>

      <section className="card" aria-labelledby="pricing-faq">
        <div className="card-head">
          <h2 id="pricing-faq">Questions</h2>
        </div>
        <dl className="pricing-faq">
          <dt>What counts as a character?</dt>
          <dd>
            Every character of the text you send, spaces and punctuation included, counted as sent:
            “$3.50” is 5 characters, although the voice says “three dollars and fifty cents”.
          </dd>
          <dt>And the audio seconds?</dt>
          <dd>
            Each monthly plan also allows some minutes of audio, in line with its characters at a
            normal speaking rate. Both allowances reset at the start of each period.
          </dd>
          <dt>What happens when I reach my allowance?</dt>
          <dd>
            Requests are refused with a clear error saying when the allowance resets; nothing is
            charged on top. Upgrade at any time for more.
          </dd>
          <dt>How does pay-as-you-go work?</dt>
          <dd>
            There is no monthly allowance: you pay for the characters you use, at the price per
            million. A spend cap, set on the billing page, limits what a month can cost.
          </dd>
          <dt>Can I change or cancel my plan?</dt>
          <dd>
            Yes, any time, from the billing page. A cancelled plan lasts until the end of the period
            you paid for; then the account moves to the Free plan, and your keys keep working.
          </dd>
        </dl>
      </section>

      <p className="landing-more">
        {me ? (
          <Link to="/billing">Go to billing</Link>
        ) : (
          <>Questions about the API? <a href="/docs">Read the docs</a></>
        )}
      </p>
    </div>
  );
}
