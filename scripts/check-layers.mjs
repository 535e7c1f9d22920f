#!/usr/bin/env node
/**
 * Fails when an import crosses the layers of docs/architecture.md ("Layers").
 *
 * Reads every `src/**\/*.ts`, finds each relative `import … from`, `export … from`, side-effect
 * `import "…"` and `import("…")` (type-only ones included: a type edge ties modules together as
 * much as a value edge), maps both ends to their layer and reports every edge that points to a
 * higher layer, one line each:
 *
 *   src/x.ts → src/y.ts: layer engine may not import layer client
 *
 * A module may import its own layer and the layers below it. Backends may import the foundation
 * only, and one backend family (`backends/<family>/`) may import the shared files directly in
 * `backends/` and in its shared folders (`backends/sql/`) but never another family. A file outside every layer, or a relative import that
 * resolves to no file, is reported too, so a new folder has to be placed on purpose.
 *
 * Plain Node, no dependencies: `node scripts/check-layers.mjs [root]`. Exit code 0 when clean, 1
 * on any violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The layers, lowest first. `match` takes a path relative to src/ (with `/`); `may` lists the
 * layers a layer may import besides itself (default: every lower layer); `onlyFrom`, the only
 * layers that may import it.
 */
const LAYERS = [
  { name: "foundation", match: (f) => ["errors.ts", "logger.ts", "ports.ts", "lambda-port.ts"].includes(f) || f.startsWith("core/") },
  { name: "definition", match: (f) => f.startsWith("definition/") },
  { name: "engine", match: (f) => f.startsWith("engine/") },
  { name: "backends", match: (f) => f.startsWith("backends/"), may: ["foundation"], onlyFrom: ["settings"] },
  { name: "settings", match: (f) => f.startsWith("settings/") },
  { name: "client", match: (f) => f.startsWith("client/") },
  { name: "lambda", match: (f) => f.startsWith("lambda/") },
  { name: "dashboard", match: (f) => f.startsWith("dashboard/") },
  { name: "cli", match: (f) => f.startsWith("cli/") },
  { name: "index", match: (f) => f === "index.ts" },
];

const rank = new Map(LAYERS.map((layer, index) => [layer.name, index]));

function layerOf(file) {
  return LAYERS.find((layer) => layer.match(file));
}

function allowed(from, to) {
  if (from.name === to.name) return true;
  if (to.onlyFrom !== undefined && !to.onlyFrom.includes(from.name)) return false;
  if (from.may !== undefined) return from.may.includes(to.name);
  return rank.get(to.name) < rank.get(from.name);
}

/** Folders of backends/ that every family may import, like the files directly in backends/. */
const SHARED_BACKEND_FOLDERS = new Set(["sql"]);

/** `backends/<family>/…` → family; files directly in backends/ and in its shared folders are shared (undefined). */
function familyOf(file) {
  const parts = file.split("/");
  return parts[0] === "backends" && parts.length > 2 && !SHARED_BACKEND_FOLDERS.has(parts[1]) ? parts[1] : undefined;
}

// ---------------------------------------------------------------------------------------------
// A small scanner: the source as tokens (words, strings, punctuation), comments dropped, so that
// an import in a comment or in a string's text never counts, and a multi-line import does.

const WORD = /[A-Za-z0-9_$]/;
/** Words after which a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);

function tokenize(text) {
  const tokens = [];
  /** For each open `${`, the brace depth it opened at (to find its closing `}`). */
  const templates = [];
  let depth = 0;
  let i = 0;
  const last = () => tokens[tokens.length - 1];
  const regexAllowed = () => {
    const token = last();
    if (token === undefined) return true;
    if (token.kind === "string") return false;
    if (token.kind === "word") return BEFORE_REGEX.has(token.value);
    return !(token.value === ")" || token.value === "]" || token.value === "}");
  };
  /** Read a template literal's text from `i` (after the backtick or `}`) up to its end or a `${`. */
  const templateText = () => {
    let value = "";
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") {
        value += text.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        tokens.push({ kind: "string", value });
        return;
      } else if (c === "$" && text[i + 1] === "{") {
        i += 2;
        tokens.push({ kind: "string", value });
        templates.push(depth);
        depth++;
        return;
      } else {
        value += c;
        i++;
      }
    }
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === '"' || c === "'") {
      let value = "";
      i++;
      while (i < text.length && text[i] !== c && text[i] !== "\n") {
        if (text[i] === "\\") i++;
        value += text[i] ?? "";
        i++;
      }
      i++;
      tokens.push({ kind: "string", value });
    } else if (c === "`") {
      i++;
      templateText();
    } else if (c === "/" && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < text.length && text[i] !== "\n") {
        const r = text[i];
        if (r === "\\") i++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (i < text.length && WORD.test(text[i])) i++;
      tokens.push({ kind: "string", value: "" });
    } else if (WORD.test(c)) {
      let value = "";
      while (i < text.length && WORD.test(text[i])) value += text[i++];
      tokens.push({ kind: "word", value });
    } else if (/\s/.test(c)) {
      i++;
    } else {
      i++;
      if (c === "{") depth++;
      if (c === "}") {
        depth--;
        if (templates.length > 0 && templates[templates.length - 1] === depth) {
          templates.pop();
          templateText();
          continue;
        }
      }
      tokens.push({ kind: "punct", value: c });
    }
  }
  return tokens;
}

/** The specifiers of every import and re-export of a module. */
function specifiers(text) {
  const tokens = tokenize(text);
  const found = [];
  /** Inside an `import …`/`export …` statement that may end in `from "…"`. */
  let statement = false;
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k];
    const next = tokens[k + 1];
    const previous = tokens[k - 1];
    const member = previous?.kind === "punct" && previous.value === ".";
    if (token.kind === "word" && token.value === "import" && !member) {
      if (next?.kind === "string") found.push(next.value);
      else if (next?.kind === "punct" && next.value === "(" && tokens[k + 2]?.kind === "string") found.push(tokens[k + 2].value);
      else statement = true;
    } else if (token.kind === "word" && token.value === "export" && !member) {
      statement = true;
    } else if (token.kind === "punct" && token.value === ";") {
      statement = false;
    } else if (statement && token.kind === "word" && token.value === "from" && next?.kind === "string") {
      found.push(next.value);
      statement = false;
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return walk(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

/** The .ts file a relative specifier names (`./x.js` → `x.ts`, `./dir/index.js`), if it exists. */
function resolve(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), base.replace(/\.(mjs|cjs)$/, ".ts"), `${base}.ts`, path.join(base, "index.ts")];
  return candidates.find((candidate) => candidate.endsWith(".ts") && existsSync(candidate) && statSync(candidate).isFile());
}

const root = path.resolve(process.argv[2] ?? ".");
const src = path.join(root, "src");
const shown = (file) => path.relative(root, file).split(path.sep).join("/");
const inSrc = (file) => path.relative(src, file).split(path.sep).join("/");

const problems = [];
let edges = 0;
const files = walk(src).sort();
for (const file of files) {
  const layer = layerOf(inSrc(file));
  if (layer === undefined) {
    problems.push(`${shown(file)}: in no layer; place it in one (scripts/check-layers.mjs, docs/architecture.md)`);
    continue;
  }
  for (const specifier of specifiers(readFileSync(file, "utf8"))) {
    if (!specifier.startsWith(".")) continue;
    const target = resolve(file, specifier);
    if (target === undefined) {
      problems.push(`${shown(file)} → ${specifier}: no such module under src/`);
      continue;
    }
    edges++;
    const relative = path.relative(src, target);
    if (relative.startsWith("..")) {
      problems.push(`${shown(file)} → ${shown(target)}: src/ may not import from outside src/`);
      continue;
    }
    const targetLayer = layerOf(inSrc(target));
    if (targetLayer === undefined) continue; // reported as a file in no layer
    if (!allowed(layer, targetLayer)) {
      problems.push(`${shown(file)} → ${shown(target)}: layer ${layer.name} may not import layer ${targetLayer.name}`);
      continue;
    }
    const [fromFamily, toFamily] = [familyOf(inSrc(file)), familyOf(inSrc(target))];
    if (layer.name === "backends" && toFamily !== undefined && fromFamily !== toFamily) {
      problems.push(`${shown(file)} → ${shown(target)}: ${fromFamily === undefined ? "shared backends/ files" : `backend family ${fromFamily}`} may not import backend family ${toFamily}`);
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  console.error(`check-layers: ${problems.length} violation(s) in ${files.length} files; the layers are in docs/architecture.md`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, ${edges} relative imports, every one within the layers`);
