// The server's voices (GET /v1/voices, public), and how the dashboard names them.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";

export type Voice = components["schemas"]["VoiceOut"];
export type VoiceList = components["schemas"]["VoiceList"];

export const VOICES_KEY = ["v1", "voices"] as const;

export function useVoices() {
  return useQuery({
    queryKey: VOICES_KEY,
    queryFn: () => unwrap(api.GET("/v1/voices")),
    staleTime: 5 * 60_000,
  });
}

/** "en_US" / "en-us" → "English (United States)" (short: "English (US)"); unknown codes come
 * back as written. */
export function languageName(code: string, style: "long" | "short" = "long"): string {
  const tag = code.replace(/_/g, "-");
  try {
    const names = new Intl.DisplayNames(["en"], { type: "language", languageDisplay: "standard", style });
    return names.of(tag) ?? code;
  } catch {
    return code;
  }
}

/** "Joe — English (US)": what the voice picker shows. */
export function voiceLabel(voice: Voice): string {
  return `${voice.name} — ${languageName(voice.language, "short")}`;
}

/** By language, then name: a long list stays scannable. */
export function sortVoices(voices: Voice[]): Voice[] {
  return [...voices].sort(
    (a, b) => languageName(a.language).localeCompare(languageName(b.language)) || a.name.localeCompare(b.name),
  );
}

const PREVIEW_SENTENCES: Record<string, string> = {
  en: "Hi! This is how I sound. Type anything and I will read it aloud.",
  de: "Hallo! So klinge ich. Schreib etwas, und ich lese es vor.",
  fr: "Bonjour ! Voici ma voix. Écrivez un texte et je le lirai à voix haute.",
  es: "¡Hola! Así suena mi voz. Escribe algo y lo leeré en voz alta.",
  it: "Ciao! Questa è la mia voce. Scrivi qualcosa e la leggerò ad alta voce.",
  pt: "Olá! Esta é a minha voz. Escreva algo e eu vou ler em voz alta.",
  nl: "Hallo! Zo klink ik. Typ iets en ik lees het voor.",
  pl: "Cześć! Tak brzmi mój głos. Napisz coś, a przeczytam to na głos.",
  sv: "Hej! Så här låter jag. Skriv något så läser jag det högt.",
  da: "Hej! Sådan lyder jeg. Skriv noget, så læser jeg det højt.",
  no: "Hei! Slik høres jeg ut. Skriv noe, så leser jeg det høyt.",
  nb: "Hei! Slik høres jeg ut. Skriv noe, så leser jeg det høyt.",
  fi: "Hei! Tältä minä kuulostan. Kirjoita jotain, niin luen sen ääneen.",
  ru: "Привет! Так звучит мой голос. Напишите что-нибудь, и я прочитаю это вслух.",
  uk: "Привіт! Так звучить мій голос. Напишіть щось, і я прочитаю це вголос.",
  cs: "Ahoj! Takhle zní můj hlas. Napište něco a já to přečtu nahlas.",
  tr: "Merhaba! Sesim böyle. Bir şey yazın, yüksek sesle okuyayım.",
  zh: "你好！这是我的声音。输入任何文字，我都会为你朗读。",
};

/** A short sentence in the voice's own language (English when there is none for it). */
export function previewSentence(language: string): string {
  const base = language.toLowerCase().split(/[-_]/)[0] ?? "en";
  return PREVIEW_SENTENCES[base] ?? PREVIEW_SENTENCES.en!;
}
