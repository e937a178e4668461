// Code to copy: a single block, or several languages in tabs (the WAI-ARIA tabs pattern: arrow
// keys, Home and End move between tabs; the panel is focusable so it can be scrolled by keyboard).
import { type KeyboardEvent, useId, useRef, useState } from "react";
import { Button, useCopy } from "../components/ui";
import "./codeBlocks.css";

function CopyCode({ code, what }: { code: string; what: string }) {
  const [copied, copy] = useCopy(code);
  return (
    <Button
      variant="secondary"
      className="code-copy"
      aria-label={copied ? `Copied ${what}` : `Copy ${what}`}
      onClick={copy}
    >
      <span aria-live="polite">{copied ? "Copied" : "Copy"}</span>
    </Button>
  );
}

/** One snippet with its copy button; `label` names it for screen readers ("curl example"). */
export function CodeBlock({ code, label, testId }: { code: string; label: string; testId?: string }) {
  return (
    <div className="code-frame">
      <div className="code-frame-bar">
        <span className="muted small">{label}</span>
        <CopyCode code={code} what={label} />
      </div>
      <pre className="code-block" tabIndex={0} aria-label={label} data-testid={testId}>
        <code>{code}</code>
      </pre>
    </div>
  );
}

export type CodeTab = { id: string; label: string; code: string };

export function CodeTabs({ tabs, label, initial }: { tabs: CodeTab[]; label: string; initial?: string }) {
  const [selected, setSelected] = useState(initial ?? tabs[0]?.id ?? "");
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const base = useId();
  const current = tabs.find((tab) => tab.id === selected) ?? tabs[0];
  if (!current) return null;

  const move = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((tab) => tab.id === current.id);
    let next: number | null = null;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next === null) return;
    event.preventDefault();
    const tab = tabs[next];
    if (!tab) return;
    setSelected(tab.id);
    refs.current[tab.id]?.focus();
  };

  return (
    <div className="code-tabs">
      <div className="code-tabs-head">
        <div className="tabs" role="tablist" aria-label={label} onKeyDown={move}>
          {tabs.map((tab) => (
            <button
              key={tab.id}
              ref={(element) => {
                refs.current[tab.id] = element;
              }}
              type="button"
              role="tab"
              id={`${base}-tab-${tab.id}`}
              aria-selected={tab.id === current.id}
              aria-controls={`${base}-panel`}
              tabIndex={tab.id === current.id ? 0 : -1}
              onClick={() => setSelected(tab.id)}
            >
              {tab.label}
            </button>
          ))}
        </div>
        <CopyCode code={current.code} what={`${current.label} example`} />
      </div>
      <pre
        className="code-block"
        role="tabpanel"
        id={`${base}-panel`}
        aria-labelledby={`${base}-tab-${current.id}`}
        tabIndex={0}
        data-testid={`snippet-${current.id}`}
      >
        <code>{current.code}</code>
      </pre>
    </div>
  );
}
