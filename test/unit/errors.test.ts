import { describe, expect, it } from "vitest";
import { missingPackage } from "../../src/errors.js";

/** Errors as Node raises them when an import cannot be resolved. */
function notFound(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("missingPackage", () => {
  it("names the package an ES-module import could not find", () => {
    expect(missingPackage(notFound("ERR_MODULE_NOT_FOUND", "Cannot find package 'pg' imported from /app/dist/backends/postgres/database.js"))).toBe("pg");
    expect(
      missingPackage(notFound("ERR_MODULE_NOT_FOUND", "Cannot find package '@aws-sdk/client-sqs' imported from /app/dist/backends/aws/sqs.js")),
    ).toBe("@aws-sdk/client-sqs");
    expect(missingPackage(notFound("ERR_MODULE_NOT_FOUND", "Cannot find module 'tsx/esm/api' imported from /x.js"))).toBe("tsx");
  });

  it("names the package a require could not find", () => {
    expect(missingPackage(notFound("MODULE_NOT_FOUND", "Cannot find module 'ioredis'\nRequire stack:\n- /app/x.js"))).toBe("ioredis");
  });

  it("is undefined for a missing file of the package itself and for other errors", () => {
    expect(missingPackage(notFound("ERR_MODULE_NOT_FOUND", "Cannot find module '/app/dist/backends/postgres/backend.js' imported from /app/dist/settings/backends.js"))).toBeUndefined();
    expect(missingPackage(notFound("ERR_MODULE_NOT_FOUND", "Cannot find module './local.js'"))).toBeUndefined();
    expect(missingPackage(new Error("Cannot find package 'pg'"))).toBeUndefined();
    expect(missingPackage("pg")).toBeUndefined();
  });
});

describe("Switchyard errors across copies of the package", () => {
  it("instanceof holds for an error made by another copy's class of the same name, and only for its chain", async () => {
    // A second instance of the module, as a CommonJS action module gets when it requires the package.
    const another: string = "../../src/errors.ts?another-copy";
    const copy = (await import(another)) as typeof import("../../src/errors.js");
    const own = await import("../../src/errors.js");
    expect(copy.FatalActionError).not.toBe(own.FatalActionError);

    const fatal = new copy.FatalActionError("card declined");
    expect(fatal instanceof own.FatalActionError).toBe(true);
    expect(fatal instanceof own.SwitchyardError).toBe(true);
    expect(fatal instanceof Error).toBe(true);
    expect(fatal instanceof own.UsageError).toBe(false);
    expect(new copy.UsageError("x") instanceof own.FatalActionError).toBe(false);

    // A user's subclass keeps its place in the chain; a look-alike that Switchyard did not build does not count.
    class CardDeclined extends copy.FatalActionError {}
    expect(new CardDeclined("declined") instanceof own.FatalActionError).toBe(true);
    expect(Object.assign(new Error("x"), { name: "FatalActionError" }) instanceof own.FatalActionError).toBe(false);
  });
});
