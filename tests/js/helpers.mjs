// Shared by the node tests: the fixture folder Python wrote, and the web/ modules.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
export const core = require("../../src/roberta_math/web/math.js");
export const tok = require("../../src/roberta_math/web/tokenizer.js");

export const FIXTURES = process.env.ROBERTA_MATH_JS_FIXTURES;
if (!FIXTURES) {
  throw new Error("ROBERTA_MATH_JS_FIXTURES is not set: run these through pytest tests/test_web_js.py, which writes the fixtures");
}

export function fixture(name) {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));
}

export function fixtureBuffer(name) {
  const b = readFileSync(join(FIXTURES, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/** Largest |a_i - b_i|; fails on a length mismatch or a NaN. */
export function maxAbsDiff(actual, expected) {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      if (Number.isNaN(d)) throw new Error(`NaN at ${i}: ${actual[i]} vs ${expected[i]}`);
      worst = d;
    }
  }
  return worst;
}

/** Record measured numbers for the pytest side to print (results-<file>.json). */
export function record(file, values) {
  writeFileSync(join(FIXTURES, `results-${file}.json`), JSON.stringify(values, null, 1));
}
