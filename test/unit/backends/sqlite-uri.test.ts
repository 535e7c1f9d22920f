import { describe, expect, it } from "vitest";
import { MEMORY, parseSqliteUri, parseSqliteUriOptions } from "../../../src/backends/sqlite/uri.js";
import { SettingsError } from "../../../src/errors.js";

describe("parseSqliteUri", () => {
  it("resolves relative paths against the base directory", () => {
    expect(parseSqliteUri("sqlite:./state.db", "/srv/app")).toBe("/srv/app/state.db");
    expect(parseSqliteUri("sqlite:data/state.db", "/srv/app")).toBe("/srv/app/data/state.db");
    expect(parseSqliteUri("sqlite:../state.db", "/srv/app")).toBe("/srv/state.db");
  });

  it("accepts absolute paths in both spellings", () => {
    expect(parseSqliteUri("sqlite:/var/lib/sy.db", "/srv")).toBe("/var/lib/sy.db");
    expect(parseSqliteUri("sqlite:///var/lib/sy.db", "/srv")).toBe("/var/lib/sy.db");
  });

  it("accepts an in-memory database", () => {
    expect(parseSqliteUri("sqlite::memory:")).toBe(MEMORY);
  });

  it.each(["sqlite:", "sqlite:  ", "sqlite://relative.db", "postgres://localhost/db", "state.db"])(
    "rejects %j with one line",
    (uri) => {
      expect(() => parseSqliteUri(uri, "/srv")).toThrow(SettingsError);
      expect(() => parseSqliteUri(uri, "/srv")).toThrow(/^[^\n]+$/);
    },
  );
});

describe("parseSqliteUriOptions", () => {
  it("reads synchronous and commit from the query, and keeps them out of the path", () => {
    const uri = "sqlite:./state.db?synchronous=normal&commit=group-durable";
    expect(parseSqliteUriOptions(uri)).toEqual({ synchronous: "NORMAL", commitMode: "group-durable" });
    expect(parseSqliteUri(uri, "/srv")).toBe("/srv/state.db");
    expect(parseSqliteUriOptions("sqlite:./state.db")).toEqual({});
  });

  it("names unknown options and values", () => {
    expect(() => parseSqliteUriOptions("sqlite:a.db?journal=off")).toThrow('SQLite URI "sqlite:a.db?journal=off" has unknown option "journal"; known options: synchronous, commit');
    expect(() => parseSqliteUriOptions("sqlite:a.db?commit=never")).toThrow("commit must be one of group, group-durable, each, got \"never\"");
  });
});
