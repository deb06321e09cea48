import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// waitFor and findBy* give up after 1 s by default; on a loaded 2-core CI machine a React update
// can take longer (a focus move after a retry once timed out at 1,036 ms in a full run). 5 s is
// still far inside the 15 s test timeout, and a passing wait returns as soon as it holds.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => {
  cleanup();
});
