import type { ActionContext } from "switchyard-fsm";

function text(context: ActionContext): string {
  return String(context.data.text ?? "");
}

/** Logs each step (to stderr) so you can see which ones a retry runs again. */
function log(context: ActionContext, detail: string): void {
  console.error(`  steps=${context.steps} retries=${context.retries} ${context.currentState}: ${detail}`);
}

/**
 * Throws on the first attempt of the state named by `fail_once_at`, to show that a retry restarts
 * the whole local chain from the original message, not from the failed step.
 */
function maybeFail(context: ActionContext): void {
  if (context.data.fail_once_at === context.currentState && context.retries === 0) {
    throw new Error(`simulated failure in ${context.currentState}`);
  }
}

export function Fetch(context: ActionContext): string {
  context.data.text ??= "  Hello,   Local\tTRANSITIONS!  ";
  log(context, JSON.stringify(context.data.text));
  return "fetched";
}

export function Trim(context: ActionContext): string {
  maybeFail(context);
  context.data.text = text(context).trim();
  log(context, JSON.stringify(context.data.text));
  return "trimmed";
}

export function Lowercase(context: ActionContext): string {
  maybeFail(context);
  context.data.text = text(context).toLowerCase();
  log(context, JSON.stringify(context.data.text));
  return "lowercased";
}

export function CollapseWhitespace(context: ActionContext): string {
  maybeFail(context);
  context.data.text = text(context).replace(/\s+/g, " ");
  log(context, JSON.stringify(context.data.text));
  return "collapsed";
}

export function Slugify(context: ActionContext): string {
  maybeFail(context);
  context.data.slug = text(context)
    .replace(/[^a-z0-9 ]/g, "")
    .replace(/ /g, "-");
  log(context, JSON.stringify(context.data.slug));
  return "slugified";
}

export function Publish(context: ActionContext): string {
  maybeFail(context);
  context.data.url = `https://example.com/posts/${String(context.data.slug)}`;
  log(context, String(context.data.url));
  return "published";
}
