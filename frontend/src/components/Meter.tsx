// How much of an allowance is used: a bar, the figures, and what is left.
import { formatInteger, percentUsed } from "../lib/format";

export function Meter({
  label, used, limit, unit, format = formatInteger,
}: { label: string; used: number; limit: number | null | undefined; unit: string; format?: (value: number) => string }) {
  const percent = percentUsed(used, limit);
  const tone = percent === null ? "ok" : percent >= 100 ? "full" : percent >= 80 ? "high" : "ok";
  const remaining = limit === null || limit === undefined ? null : Math.max(0, limit - used);
  return (
    <div className="meter">
      <div className="meter-head">
        <span className="meter-label">{label}</span>
        <span className="meter-figures">
          {format(used)} {limit === null || limit === undefined ? unit : `/ ${format(limit)} ${unit}`}
        </span>
      </div>
      <div
        className={`meter-bar meter-${tone}`}
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={limit ?? undefined}
        aria-valuenow={used}
        aria-valuetext={remaining === null ? `${format(used)} ${unit} used, no cap` : `${format(remaining)} ${unit} left`}
      >
        <div className="meter-fill" style={{ width: `${percent ?? 0}%` }} />
      </div>
      <p className="meter-remaining muted">
        {remaining === null ? "No monthly cap: billed for what you use" : `${format(remaining)} ${unit} left`}
      </p>
    </div>
  );
}
