// The side panel of the pages that open one item of a list (a job, an account) over the list.
import { type ReactNode, type SyntheticEvent, useEffect, useId, useRef } from "react";
import { Button } from "./ui";

/**
 * A panel pinned to the side of the page, modal while it is shown (it opens when rendered).
 * Escape, its Close button (focused first) and a click on the backdrop all call `onClose`.
 * `block` is the page's CSS class for it; its parts take `${block}-inner`, `-head` and `-title`.
 */
export function Drawer({
  block, title, subtitle, closeLabel, onClose, children,
}: { block: string; title: string; subtitle: ReactNode; closeLabel: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (typeof dialog.showModal === "function") {
      if (!dialog.open) dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
    return () => {
      if (dialog.open && typeof dialog.close === "function") dialog.close();
    };
  }, []);

  function onCancelEvent(event: SyntheticEvent<HTMLDialogElement>) {
    // Escape in a confirmation inside bubbles here through React: that one is not ours.
    if (event.target !== event.currentTarget) return;
    event.preventDefault();
    onClose();
  }

  return (
    <dialog
      ref={ref}
      className={block}
      aria-labelledby={titleId}
      onCancel={onCancelEvent}
      onClick={(event) => {
        if (event.target === event.currentTarget) onClose(); // the backdrop
      }}
    >
      <div className={`${block}-inner`}>
        <div className={`${block}-head`}>
          <div className={`${block}-title`}>
            <h2 id={titleId}>{title}</h2>
            {subtitle}
          </div>
          <Button variant="ghost" onClick={onClose} autoFocus aria-label={closeLabel}>Close</Button>
        </div>
        {children}
      </div>
    </dialog>
  );
}
