// The playground's character counter: the text against the per-request maximum and against
// what is left of this period's allowance. Characters are counted as the server bills them:
// Unicode code points, spaces and line breaks included (so "é" is 1 and "😀" is 1, not 2).
import { formatInteger } from "./format";

/** The per-request maximum the bundled schema states (SpeechRequest.text.maxLength); a server
 * configured otherwise says so in its own /openapi.json, which the playground reads. */
export const DEFAULT_MAX_TEXT_CHARS = 5000;

export function countCharacters(text: string): number {
  let count = 0;
  for (const _char of text) count += 1;
  return count;
}

export type CounterTone = "ok" | "warning" | "danger";

export type CharacterBudget = {
  count: number;
  max: number;
  /** Left this period: null = no monthly cap, undefined = not known (yet). */
  remaining: number | null | undefined;
  overMax: boolean;
  overQuota: boolean;
  tone: CounterTone;
  /** "1,234 / 5,000": always shown next to the box. */
  summary: string;
  /** One sentence about the allowance, or what is wrong. */
  detail: string;
};

/** Over 90% of either limit is a warning; over either one is an error (Generate is refused). */
export function characterBudget(count: number, max: number, remaining: number | null | undefined): CharacterBudget {
  const overMax = count > max;
  const overQuota = typeof remaining === "number" && count > remaining;
  const nearMax = count > max * 0.9;
  const nearQuota = typeof remaining === "number" && count > remaining * 0.9;
  const tone: CounterTone = overMax || overQuota ? "danger" : nearMax || nearQuota ? "warning" : "ok";

  let detail: string;
  if (overMax) {
    detail = `${formatInteger(count - max)} over the ${formatInteger(max)}-character limit per request. Shorten the text, or send it as a job.`;
  } else if (overQuota) {
    detail = remaining === 0
      ? "No characters left this period."
      : `Only ${formatInteger(remaining)} characters left this period: ${formatInteger(count - remaining)} too many.`;
  } else if (remaining === null) {
    detail = "No monthly cap on characters.";
  } else if (remaining === undefined) {
    detail = "";
  } else {
    detail = `${formatInteger(remaining)} characters left this period${count > 0 ? `, ${formatInteger(remaining - count)} after this request` : ""}.`;
  }
  return {
    count,
    max,
    remaining,
    overMax,
    overQuota,
    tone,
    summary: `${formatInteger(count)} / ${formatInteger(max)}`,
    detail,
  };
}

/** SpeechRequest.text.maxLength from a served OpenAPI document: the server writes its configured
 * VOCALIS_MAX_TEXT_CHARS there. Null when the document does not say. */
export function maxTextCharsFromSchema(schema: unknown): number | null {
  const value = (schema as {
    components?: { schemas?: { SpeechRequest?: { properties?: { text?: { maxLength?: unknown } } } } };
  } | null)?.components?.schemas?.SpeechRequest?.properties?.text?.maxLength;
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
}

/** This server's per-request maximum, read from its /openapi.json (the default if unreadable). */
export async function fetchMaxTextChars(): Promise<number> {
  try {
    const response = await fetch("/openapi.json", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return DEFAULT_MAX_TEXT_CHARS;
    return maxTextCharsFromSchema(await response.json()) ?? DEFAULT_MAX_TEXT_CHARS;
  } catch {
    return DEFAULT_MAX_TEXT_CHARS;
  }
}
