import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { type DayPoint, UsageChart, fillDays, lastDays } from "./UsageChart";

const day = (date: string, characters: number, audio_seconds = 0, requests = 1, errors = 0) => ({
  date, characters, audio_seconds, requests, errors,
});

describe("fillDays", () => {
  it("fills the days with no usage with zeros, so the series has no gaps", () => {
    const points = fillDays(
      [day("2025-03-02", 120, 7.5, 3), day("2025-03-05", 40, 2, 1, 1)],
      { from: "2025-03-01", to: "2025-03-06" },
    );
    expect(points.map((point) => point.date)).toEqual([
      "2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06",
    ]);
    expect(points.map((point) => point.characters)).toEqual([0, 120, 0, 0, 40, 0]);
    expect(points.map((point) => point.audioSeconds)).toEqual([0, 7.5, 0, 0, 2, 0]);
    expect(points[0]).toEqual({ date: "2025-03-01", requests: 0, characters: 0, audioSeconds: 0, errors: 0 });
    expect(points[4]).toEqual({ date: "2025-03-05", requests: 1, characters: 40, audioSeconds: 2, errors: 1 });
  });

  it("gives 30 points for a 30-day window with no usage at all", () => {
    const points = fillDays([], { from: "2025-01-20", to: "2025-02-18" });
    expect(points).toHaveLength(30);
    expect(points.every((point) => point.characters === 0 && point.audioSeconds === 0)).toBe(true);
    expect(points[0]?.date).toBe("2025-01-20");
    expect(points[29]?.date).toBe("2025-02-18");
  });

  it("crosses month ends and leap days, and ignores days outside the window", () => {
    const points = fillDays(
      [day("2024-02-28", 5), day("2024-03-01", 9), day("2024-01-01", 1000)],
      { from: "2024-02-27", to: "2024-03-01" },
    );
    expect(points.map((point) => [point.date, point.characters])).toEqual([
      ["2024-02-27", 0], ["2024-02-28", 5], ["2024-02-29", 0], ["2024-03-01", 9],
    ]);
  });

  it("adds up a day that appears twice", () => {
    const points = fillDays([day("2025-03-01", 10), day("2025-03-01", 5)], { from: "2025-03-01", to: "2025-03-01" });
    expect(points).toEqual([{ date: "2025-03-01", requests: 2, characters: 15, audioSeconds: 0, errors: 0 }]);
  });

  it("returns nothing for a reversed or unreadable window", () => {
    expect(fillDays([], { from: "2025-03-05", to: "2025-03-01" })).toEqual([]);
    expect(fillDays([], { from: "soon", to: "2025-03-01" })).toEqual([]);
  });
});

describe("lastDays", () => {
  it("ends today (UTC) and counts today in", () => {
    expect(lastDays(30, new Date("2025-03-10T23:30:00Z"))).toEqual({ from: "2025-02-09", to: "2025-03-10" });
    expect(lastDays(1, new Date("2025-03-10T00:00:00Z"))).toEqual({ from: "2025-03-10", to: "2025-03-10" });
  });
});

describe("UsageChart", () => {
  beforeAll(() => {
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
  });

  const days: DayPoint[] = fillDays([day("2025-03-02", 1200, 65, 4)], { from: "2025-03-01", to: "2025-03-03" });

  it("summarises the chosen figure and switches with the tabs (mouse and arrow keys)", async () => {
    const user = userEvent.setup();
    render(<UsageChart days={days} />);
    const characters = screen.getByRole("tab", { name: "Characters" });
    expect(characters).toHaveAttribute("aria-selected", "true");
    expect(screen.getByText(/1,200 characters in 3 days; busiest day Mar 2/)).toBeInTheDocument();

    await user.click(screen.getByRole("tab", { name: "Audio seconds" }));
    expect(screen.getByRole("tab", { name: "Audio seconds" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByText(/1 min 5 s in 3 days/)).toBeInTheDocument();

    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "Characters" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tab", { name: "Characters" })).toHaveFocus();
  });

  it("says so when the window has no usage", () => {
    render(<UsageChart days={fillDays([], { from: "2025-03-01", to: "2025-03-30" })} />);
    expect(screen.getByText("No characters used from Mar 1 to Mar 30.")).toBeInTheDocument();
  });
});
