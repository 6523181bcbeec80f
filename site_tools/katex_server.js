// Renders TeX to HTML with KaTeX for site_tools/katex_render.py.
//
// Protocol: one JSON array per input line, [{"tex": "...", "display": true}, ...];
// one JSON array per output line, in the same order, each item {"html": "..."} or
// {"error": "..."}. A whole batch travels as one line so that neither side can block
// writing while the other is also writing. stdout carries only the protocol.
"use strict";

const katex = require("katex");
const readline = require("readline");

// Anything KaTeX would only warn about (unknown unicode in math mode, a trailing
// comment, ...) is an error: a formula that renders differently elsewhere is a bug.
const BASE_OPTIONS = {
  throwOnError: true,
  strict: "error",
  trust: false,
  output: "htmlAndMathml",
};

const macros = process.argv[2] ? JSON.parse(process.argv[2]) : {};

function renderOne(item) {
  try {
    const html = katex.renderToString(item.tex, {
      ...BASE_OPTIONS,
      displayMode: Boolean(item.display),
      // A fresh copy per formula: a \gdef in one formula must not leak into the next.
      macros: { ...macros },
    });
    return { html };
  } catch (err) {
    return { error: String(err && err.message ? err.message : err) };
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let batch;
  try {
    batch = JSON.parse(line);
  } catch (err) {
    process.stdout.write(JSON.stringify([{ error: "bad request: " + err.message }]) + "\n");
    return;
  }
  process.stdout.write(JSON.stringify(batch.map(renderOne)) + "\n");
});
process.stdout.write(JSON.stringify({ ready: katex.version }) + "\n");
