import "@testing-library/jest-dom/vitest";
import { configure } from "@testing-library/react";

// Pages load lazily: on a busy two-core machine the first render of one can take more than
// testing-library's default second. What never appears still fails, five seconds later.
configure({ asyncUtilTimeout: 5000 });
