#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx's loader, which also lets user action modules
// (`./actions.ts#Log`) load without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
