/** What the SQS, SNS and Kinesis backends share in handing out their message sources. */
import type { Side } from "../../ports.js";

/** The role a backend's message source plays. */
type SourceRole = "stream" | "retry";

/** `open`, made once per `(role, side)`: each later call returns the source the first one made. */
export function sourcePerRole<S>(open: (role: SourceRole, side: Side) => S): (role: SourceRole, side: Side) => S {
  const opened = new Map<string, S>();
  return (role, side) => {
    const key = `${role}:${side}`;
    let found = opened.get(key);
    if (found === undefined) {
      found = open(role, side);
      opened.set(key, found);
    }
    return found;
  };
}
