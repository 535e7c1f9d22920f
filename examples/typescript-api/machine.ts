/**
 * A machine defined in TypeScript instead of YAML: the builder checks at compile time that every
 * target is a state and that every event a do-action can return has a transition.
 */
import { type ActionContext, defineMachine } from "switchyard-fsm";

/** Fetch a page (simulated); an empty body means there is nothing to index. */
function fetchPage(ctx: ActionContext): "fetched" | "empty" {
  const url = ctx.data.url as string;
  ctx.data.body = url.endsWith("/empty") ? "" : `<h1>${url}</h1><p>Switchyard drives state machines.</p>`;
  return ctx.data.body === "" ? "empty" : "fetched";
}

/** Count the words of the page's text. */
function countWords(ctx: ActionContext): "counted" {
  const text = (ctx.data.body as string).replace(/<[^>]+>/g, " ");
  ctx.data.words = text.split(/\s+/).filter(Boolean).length;
  delete ctx.data.body; // keep the context small: it travels in every message
  return "counted";
}

export const indexer = defineMachine({
  name: "indexer",
  maxRetries: 3,
  initial: "fetching",
  states: {
    fetching: { do: fetchPage, on: { fetched: "counting", empty: "skipped" } },
    // A local transition: counting and indexing happen in the same message processing.
    counting: { do: countWords, on: { counted: { target: "indexed", local: true } } },
    indexed: { final: true },
    skipped: { final: true },
  },
});
