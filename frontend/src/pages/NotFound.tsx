import { Link } from "react-router-dom";
import { EmptyState } from "../components/ui";

export function NotFound() {
  return (
    <EmptyState title="This page does not exist" action={<Link className="button button-primary" to="/">Go home</Link>}>
      The address may be mistyped, or the page has moved.
    </EmptyState>
  );
}
