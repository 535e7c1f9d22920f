/** The benchmark's only action: count the step, loop until the step budget is spent. */
import type { ActionContext } from "../src/core/action.js";

export function Step(context: ActionContext): "again" | "done" {
  const count = ((context.data.count as number | undefined) ?? 0) + 1;
  context.data.count = count;
  return count < (context.data.limit as number) ? "again" : "done";
}
