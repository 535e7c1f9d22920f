/** What the SQS, SNS and Kinesis backends share in handing out their message sources. */
import type { Side } from "../../ports.js";

/** The role a backend's message source plays. */
type SourceRole = "stream" | "retry";

/** Hands out the source of a `(role, side)`; `opened()` lists the sources handed out so far. */
export interface SourcesPerRole<S> {
  (role: SourceRole, side: Side): S;
  opened(): S[];
}

/** `open`, made once per `(role, side)`: each later call returns the source the first one made. */
export function sourcePerRole<S>(open: (role: SourceRole, side: Side) => S): SourcesPerRole<S> {
  const opened = new Map<string, S>();
  const source = (role: SourceRole, side: Side): S => {
    const key = `${role}:${side}`;
    let found = opened.get(key);
    if (found === undefined) {
      found = open(role, side);
      opened.set(key, found);
    }
    return found;
  };
  return Object.assign(source, { opened: () => [...opened.values()] });
}
