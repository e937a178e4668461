import {
  DEFAULT_MAX_TEXT_CHARS,
  characterBudget,
  countCharacters,
  fetchMaxTextChars,
  maxTextCharsFromSchema,
} from "./charCounter";

describe("countCharacters", () => {
  it("counts code points as the server bills them", () => {
    expect(countCharacters("")).toBe(0);
    expect(countCharacters("Hello, world")).toBe(12);
    expect(countCharacters("é")).toBe(1);
    expect(countCharacters("😀😀")).toBe(2); // 4 UTF-16 units
    expect(countCharacters("a\nb")).toBe(3);
  });
});

describe("characterBudget", () => {
  it("shows what is left this period, before and after the request", () => {
    const budget = characterBudget(100, 5000, 1000);
    expect(budget.summary).toBe("100 / 5,000");
    expect(budget.detail).toBe("1,000 characters left this period, 900 after this request.");
    expect(budget.tone).toBe("ok");
    expect(budget.overMax).toBe(false);
    expect(budget.overQuota).toBe(false);
  });

  it("says there is no cap when remaining is null", () => {
    const budget = characterBudget(10, 5000, null);
    expect(budget.detail).toBe("No monthly cap on characters.");
    expect(budget.overQuota).toBe(false);
    expect(budget.tone).toBe("ok");
  });

  it("says nothing about the allowance while it is unknown", () => {
    expect(characterBudget(10, 5000, undefined).detail).toBe("");
  });

  it("warns near either limit", () => {
    expect(characterBudget(4600, 5000, null).tone).toBe("warning");
    expect(characterBudget(95, 5000, 100).tone).toBe("warning");
    expect(characterBudget(5000, 5000, null).tone).toBe("warning");
    expect(characterBudget(5000, 5000, null).overMax).toBe(false);
  });

  it("is over the per-request maximum", () => {
    const budget = characterBudget(5012, 5000, 100000);
    expect(budget.overMax).toBe(true);
    expect(budget.tone).toBe("danger");
    expect(budget.detail).toContain("12 over the 5,000-character limit per request");
  });

  it("is over what remains this period", () => {
    const budget = characterBudget(300, 5000, 120);
    expect(budget.overQuota).toBe(true);
    expect(budget.overMax).toBe(false);
    expect(budget.tone).toBe("danger");
    expect(budget.detail).toBe("Only 120 characters left this period: 180 too many.");
  });

  it("says when nothing is left", () => {
    const budget = characterBudget(1, 5000, 0);
    expect(budget.overQuota).toBe(true);
    expect(budget.detail).toBe("No characters left this period.");
  });

  it("reports the per-request limit first when both are exceeded", () => {
    const budget = characterBudget(6000, 5000, 10);
    expect(budget.overMax && budget.overQuota).toBe(true);
    expect(budget.detail).toContain("over the 5,000-character limit");
  });
});

describe("the server's maximum", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is read from SpeechRequest.text.maxLength", () => {
    expect(maxTextCharsFromSchema({ components: { schemas: { SpeechRequest: { properties: { text: { maxLength: 1200 } } } } } })).toBe(1200);
    expect(maxTextCharsFromSchema({})).toBeNull();
    expect(maxTextCharsFromSchema(null)).toBeNull();
    expect(maxTextCharsFromSchema({ components: { schemas: { SpeechRequest: { properties: { text: { maxLength: "9" } } } } } })).toBeNull();
  });

  it("falls back to the bundled default when /openapi.json cannot be read", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("offline")));
    await expect(fetchMaxTextChars()).resolves.toBe(DEFAULT_MAX_TEXT_CHARS);
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(new Response("nope", { status: 404 })));
    await expect(fetchMaxTextChars()).resolves.toBe(DEFAULT_MAX_TEXT_CHARS);
  });

  it("uses the served value", async () => {
    const schema = { components: { schemas: { SpeechRequest: { properties: { text: { maxLength: 800 } } } } } };
    const fetchMock = vi.fn().mockResolvedValue(new Response(JSON.stringify(schema), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await expect(fetchMaxTextChars()).resolves.toBe(800);
    expect(fetchMock.mock.calls[0]?.[0]).toBe("/openapi.json");
  });
});
