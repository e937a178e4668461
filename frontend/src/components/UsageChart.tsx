// Daily usage as a bar chart: characters or audio seconds per UTC day, one bar a day and no
// gaps (a day without requests is a zero bar). Colours come from the theme's CSS variables
// (see pages/Overview.css), so light and dark both work.
import { type KeyboardEvent, useId, useMemo, useRef, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { components } from "../api/schema";
import { formatCompact, formatInteger, formatSeconds } from "../lib/format";

type DayUsage = components["schemas"]["DayUsage"];

/** One day of the chart; `date` is the UTC day, "YYYY-MM-DD". */
export type DayPoint = {
  date: string;
  requests: number;
  characters: number;
  audioSeconds: number;
  errors: number;
};

export type UsageMetric = "characters" | "audioSeconds";

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;

function parseDay(day: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  if (!match) return null;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

function dayString(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The `days` UTC days that end with `today` (included), as a from/to pair. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const count = Math.max(1, Math.min(MAX_DAYS, Math.floor(days)));
  return { from: dayString(end - (count - 1) * DAY_MS), to: dayString(end) };
}

/**
 * Every day from `from` to `to` (both included, UTC), with the figures `daily` has for it and
 * zeros for the days it lacks; days outside the range are left out, repeated days added up.
 */
export function fillDays(daily: readonly DayUsage[], range: { from: string; to: string }): DayPoint[] {
  const start = parseDay(range.from);
  const end = parseDay(range.to);
  if (start === null || end === null || end < start) return [];
  const byDay = new Map<string, DayPoint>();
  for (const day of daily) {
    const time = parseDay(day.date);
    if (time === null) continue;
    const key = dayString(time);
    const seen = byDay.get(key);
    byDay.set(key, {
      date: key,
      requests: (seen?.requests ?? 0) + (day.requests || 0),
      characters: (seen?.characters ?? 0) + (day.characters || 0),
      audioSeconds: (seen?.audioSeconds ?? 0) + (day.audio_seconds || 0),
      errors: (seen?.errors ?? 0) + (day.errors || 0),
    });
  }
  const points: DayPoint[] = [];
  const first = Math.max(start, end - (MAX_DAYS - 1) * DAY_MS);
  for (let time = first; time <= end; time += DAY_MS) {
    const key = dayString(time);
    points.push(byDay.get(key) ?? { date: key, requests: 0, characters: 0, audioSeconds: 0, errors: 0 });
  }
  return points;
}

const shortDay = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
const longDay = new Intl.DateTimeFormat("en-US", {
  weekday: "short", month: "short", day: "numeric", year: "numeric", timeZone: "UTC",
});

function dayLabel(day: string, format: Intl.DateTimeFormat): string {
  const time = parseDay(day);
  return time === null ? day : format.format(new Date(time));
}

const METRICS: Record<UsageMetric, { tab: string; none: string; format: (value: number) => string; axis: (value: number) => string }> = {
  characters: {
    tab: "Characters",
    none: "No characters used",
    format: (value) => `${formatInteger(value)} characters`,
    axis: formatCompact,
  },
  audioSeconds: {
    tab: "Audio seconds",
    none: "No audio generated",
    format: (value) => formatSeconds(value),
    axis: (value) => formatCompact(Math.round(value)),
  },
};

const ORDER: UsageMetric[] = ["characters", "audioSeconds"];

type TooltipBody = {
  active?: boolean;
  payload?: ReadonlyArray<{ payload?: unknown }>;
  metric: UsageMetric;
};

function UsageTooltip({ active, payload, metric }: TooltipBody) {
  const point = payload?.[0]?.payload as DayPoint | undefined;
  if (!active || !point) return null;
  return (
    <div className="chart-tooltip">
      <p className="chart-tooltip-day">{dayLabel(point.date, longDay)}</p>
      <p className="chart-tooltip-value">{METRICS[metric].format(point[metric])}</p>
      <p className="muted small">
        {formatInteger(point.requests)} {point.requests === 1 ? "request" : "requests"}
        {point.errors ? `, ${formatInteger(point.errors)} failed` : ""}
      </p>
    </div>
  );
}

/** The heading row of a table of usage: what each row is (`first`), then its requests,
 *  characters and audio. */
export function UsageHeadings({ first }: { first: string }) {
  return (
    <tr>
      <th scope="col">{first}</th>
      <th scope="col" className="numeric">Requests</th>
      <th scope="col" className="numeric">Characters</th>
      <th scope="col" className="numeric">Audio</th>
    </tr>
  );
}

/** Tabs for the metric, the chart, a one-line summary, and the same figures as a table. */
export function UsageChart({ days, height = 260 }: { days: DayPoint[]; height?: number }) {
  const [metric, setMetric] = useState<UsageMetric>("characters");
  const tabRefs = useRef<Partial<Record<UsageMetric, HTMLButtonElement | null>>>({});
  const baseId = useId();
  const spec = METRICS[metric];

  const summary = useMemo(() => {
    const total = days.reduce((sum, day) => sum + day[metric], 0);
    let peak: DayPoint | null = null;
    for (const day of days) if (day[metric] > 0 && (!peak || day[metric] > peak[metric])) peak = day;
    return { total, peak };
  }, [days, metric]);

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>) {
    const index = ORDER.indexOf(metric);
    let next: number | null = null;
    if (event.key === "ArrowRight") next = (index + 1) % ORDER.length;
    if (event.key === "ArrowLeft") next = (index - 1 + ORDER.length) % ORDER.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = ORDER.length - 1;
    if (next === null) return;
    event.preventDefault();
    const chosen = ORDER[next] ?? "characters";
    setMetric(chosen);
    tabRefs.current[chosen]?.focus();
  }

  const caption = days.length === 0
    ? "No days to show."
    : summary.total === 0
      ? `${spec.none} from ${dayLabel(days[0]?.date ?? "", shortDay)} to ${dayLabel(days[days.length - 1]?.date ?? "", shortDay)}.`
      : `${spec.format(summary.total)} in ${days.length} days` +
        (summary.peak ? `; busiest day ${dayLabel(summary.peak.date, shortDay)} (${spec.format(summary.peak[metric])}).` : ".");

  return (
    <div className={`usage-chart usage-chart-${metric === "characters" ? "characters" : "audio"}`}>
      <div className="tabs" role="tablist" aria-label="Chart figure">
        {ORDER.map((name) => (
          <button
            key={name}
            ref={(element) => { tabRefs.current[name] = element; }}
            type="button"
            role="tab"
            id={`${baseId}-tab-${name}`}
            aria-selected={metric === name}
            aria-controls={`${baseId}-panel`}
            tabIndex={metric === name ? 0 : -1}
            onClick={() => setMetric(name)}
            onKeyDown={onTabKey}
          >
            {METRICS[name].tab}
          </button>
        ))}
      </div>
      <figure
        className="usage-chart-figure"
        role="tabpanel"
        id={`${baseId}-panel`}
        aria-labelledby={`${baseId}-tab-${metric}`}
      >
        <div className="usage-chart-plot" style={{ height }}>
          <ResponsiveContainer width="100%" height={height}>
            <BarChart data={days} margin={{ top: 8, right: 4, bottom: 0, left: 0 }}>
              <CartesianGrid vertical={false} />
              <XAxis
                dataKey="date"
                tickFormatter={(value: string) => dayLabel(value, shortDay)}
                tickLine={false}
                axisLine={false}
                minTickGap={18}
                fontSize={12}
              />
              <YAxis
                tickFormatter={spec.axis}
                tickLine={false}
                axisLine={false}
                allowDecimals={false}
                width={44}
                fontSize={12}
              />
              <Tooltip
                cursor={{ className: "usage-chart-cursor" }}
                isAnimationActive={false}
                content={(props) => <UsageTooltip active={props.active} payload={props.payload} metric={metric} />}
              />
              <Bar
                dataKey={metric}
                name={spec.tab}
                className="usage-chart-bar"
                radius={[3, 3, 0, 0]}
                maxBarSize={28}
                minPointSize={0}
                isAnimationActive={false}
              />
            </BarChart>
          </ResponsiveContainer>
        </div>
        <figcaption className="muted small usage-chart-caption">{caption}</figcaption>
      </figure>
      <details className="usage-chart-table">
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table>
            <caption className="muted small">Daily usage (UTC days), newest first</caption>
            <thead>
              <UsageHeadings first="Day" />
            </thead>
            <tbody>
              {[...days].reverse().map((day) => (
                <tr key={day.date}>
                  <td>{dayLabel(day.date, shortDay)}</td>
                  <td className="numeric">{formatInteger(day.requests)}</td>
                  <td className="numeric">{formatInteger(day.characters)}</td>
                  <td className="numeric">{day.audioSeconds ? formatSeconds(day.audioSeconds) : "0 s"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
