#!/usr/bin/env node
// The `switchyard` command. An installed package runs the compiled CLI in dist/. In this repository
// (src/ present, no build needed) it runs the TypeScript sources through tsx, with the repository's
// tsconfig so `switchyard-fsm` imports in examples resolve to src/.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
let cli;
if (existsSync(source)) {
  const tsconfig = new URL("../tsconfig.json", import.meta.url).pathname;
  const [{ register: registerEsm }, { register: registerCommonJs }] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
  registerEsm({ tsconfig });
  registerCommonJs();
  // Tell the action loader a TypeScript loader is already active.
  globalThis[Symbol.for("switchyard-fsm.typescript-loader")] = Promise.resolve();
  cli = await import(source.href);
} else {
  cli = await import("../dist/cli/main.js");
}
process.exitCode = await cli.main(process.argv);
