/** The cost workload's one action: count the step in the user context and move on. */
import type { ActionContext } from "../src/core/action.js";

export function Go(context: ActionContext): "go" {
  context.data.count = ((context.data.count as number | undefined) ?? 0) + 1;
  return "go";
}
