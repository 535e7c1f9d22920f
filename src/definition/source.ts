/**
 * A definition source: the plain value of one definition (a parsed YAML file or an in-code config)
 * plus a way to find where any part of it was written.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { isMap, isNode, LineCounter, parseDocument, type Document } from "yaml";
import { DefinitionError, type SourceLocation } from "../errors.js";

/** A path into a definition value, e.g. `["machines", 0, "states", 2, "name"]`. */
export type ValuePath = readonly (string | number)[];

/** Where the value (or, with `"key"`, the key) at `path` was written; undefined for in-code configs. */
export type Locator = (path: ValuePath, part?: "key" | "value") => SourceLocation | undefined;

/** One definition to check: a YAML file or an in-code config. */
export interface DefinitionSource {
  /** The file as shown in messages (as the user wrote it), if the definition came from a file. */
  readonly file: string | undefined;
  /** The absolute path of that file, used to detect import cycles and repeated imports. */
  readonly absoluteFile: string | undefined;
  /** The directory that action references and imports are relative to. */
  readonly baseDir: string;
  /** The parsed value; undefined when the file could not be parsed. */
  readonly value: unknown;
  readonly locate: Locator;
}

/** A source for an in-code config: nothing has a line number. */
export function codeSource(value: unknown, baseDir: string, file?: string): DefinitionSource {
  return {
    file,
    absoluteFile: file === undefined ? undefined : path.resolve(baseDir, file),
    baseDir,
    value,
    locate: () => undefined,
  };
}

/**
 * Read and parse a YAML definition file. Syntax errors come back as problems (with the value left
 * undefined); a file that cannot be read throws the `fs` error for the caller to describe.
 */
export async function readYamlSource(
  absoluteFile: string,
  file: string,
): Promise<{ source: DefinitionSource; problems: DefinitionError[] }> {
  const text = await readFile(absoluteFile, "utf8");
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const problems = document.errors.map(
    (error) => new DefinitionError(`YAML syntax error: ${firstLine(error.message)}; fix the YAML here`, at(error.pos[0])),
  );
  return {
    source: {
      file,
      absoluteFile,
      baseDir: path.dirname(absoluteFile),
      value: problems.length > 0 ? undefined : document.toJS(),
      locate: (valuePath, part = "value") => {
        const offset = offsetOf(document, valuePath, part);
        return offset === undefined ? undefined : at(offset);
      },
    },
    problems,
  };
}

function offsetOf(document: Document, valuePath: ValuePath, part: "key" | "value"): number | undefined {
  // An empty document has no contents: point at its start.
  if (valuePath.length === 0) return document.contents?.range?.[0] ?? 0;
  if (part === "key") {
    const parent = document.getIn(valuePath.slice(0, -1), true);
    const key = valuePath[valuePath.length - 1];
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === key);
    return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
  }
  const node = document.getIn(valuePath, true);
  return isNode(node) ? node.range?.[0] : undefined;
}

function firstLine(message: string): string {
  return message.split("\n", 1)[0];
}
