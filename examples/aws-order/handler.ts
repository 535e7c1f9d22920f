/**
 * The function's entry point, bundled by esbuild into index.mjs: the Switchyard handler with the
 * actions registered under the references the YAML uses. The definitions and settings files come
 * from SWITCHYARD_DEFINITIONS and SWITCHYARD_SETTINGS (the stack sets both).
 */
import { createHandler } from "switchyard-fsm/lambda";
import { Charge, Notify, Validate } from "./actions.js";

export const handler = createHandler({
  actions: {
    "./actions.ts#Validate": Validate,
    "./actions.ts#Charge": Charge,
    "./actions.ts#Notify": Notify,
  },
});
