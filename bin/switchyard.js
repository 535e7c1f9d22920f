#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx's loader, which also lets user action modules
// (`./actions.ts#Log`) load without a build step. Both hooks are needed: in a project whose
// package.json does not say "type": "module", Node treats a .ts file as CommonJS.
import { register as registerCommonJs } from "tsx/cjs/api";
import { register as registerEsm } from "tsx/esm/api";

registerCommonJs();
registerEsm();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
