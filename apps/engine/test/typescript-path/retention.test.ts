// retention.test.ts again, with the SQL fast path off: every SDK answer goes through executor/handle.ts.
import { useStepPath } from "../support/step-path.ts";

useStepPath("typescript");
await import("../retention.test.ts");
