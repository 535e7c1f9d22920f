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
