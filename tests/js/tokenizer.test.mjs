// tokenizer.js against the model's own tokenizer (Hugging Face tokenizers, what `roberta-math predict` uses).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tok, fixture, FIXTURES, record } from "./helpers.mjs";

const spec = fixture("live-tokenizer.json");
const tokenizer = new tok.Tokenizer(spec);
const measured = {};
after(() => record("tokenizer", measured));

function firstMismatch(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

test("bytesToUnicode: 256 distinct printable characters, the space is Ġ", () => {
  const table = tok.bytesToUnicode();
  assert.equal(new Set(table).size, 256);
  assert.equal(table[32], "Ġ");
  assert.equal(table[33], "!");
  assert.equal(table[10], "Ċ");
});

test("every corpus sentence gets exactly the Python tokenizer's ids", () => {
  const rows = fixture("corpus.json");
  let bad = 0, example = null;
  for (const row of rows) {
    const ids = tokenizer.encode(row.text).ids;
    if (firstMismatch(ids, row.ids) !== -1) {
      bad += 1;
      if (!example) example = { text: row.text, js: ids, python: row.ids };
    }
  }
  measured.corpus_sentences = rows.length;
  measured.corpus_mismatches = bad;
  assert.equal(bad, 0, `${bad} of ${rows.length} sentences differ, e.g. ${JSON.stringify(example)}`);
});

test("adversarial strings (emoji + ZWJ, CJK, combining marks, whitespace runs, long words, typed <s>) match, also truncated", () => {
  const data = fixture("adversarial.json");
  let n = 0;
  for (const c of data.cases) {
    assert.deepEqual(tokenizer.encode(c.text).ids, c.ids, `ids differ for ${JSON.stringify(c.text.slice(0, 80))}`);
    const cut = tokenizer.encode(c.text, data.max_tokens);
    assert.deepEqual(cut.ids, c.truncated, `truncated ids differ for ${JSON.stringify(c.text.slice(0, 80))}`);
    assert.equal(cut.truncated, c.ids.length > data.max_tokens);
    n += 1;
  }
  measured.adversarial_strings = n;
});

test("the pre-tokenizer classes every code point of planes 0-3 and 14 as the Rust library does", () => {
  const classes = readFileSync(join(FIXTURES, "codepoints.txt"), "ascii");
  const ws = new RegExp("^[" + tok.WHITESPACE_CLASS + "]$", "u");
  // the classes the tokenizer compiled from the exported ranges
  const letter = new RegExp("^[" + tokenizer.letterClass + "]$", "u");
  const number = new RegExp("^[" + tokenizer.numberClass + "]$", "u");
  const nativeLetter = /^\p{L}$/u;
  let unicodeVersionDifferences = 0;
  const ranges = [[0, 0x40000], [0xe0000, 0xf0000]];
  let index = 0, bad = [];
  for (const [lo, hi] of ranges) {
    for (let cp = lo; cp < hi; cp++, index++) {
      const expected = classes[index];
      if (expected === "S") continue;
      const c = String.fromCodePoint(cp);
      const got = letter.test(c) ? "L" : number.test(c) ? "N" : ws.test(c) ? "W" : "O";
      if (got !== expected) bad.push(`U+${cp.toString(16)} ${got}/${expected}`);
      if (nativeLetter.test(c) !== (expected === "L")) unicodeVersionDifferences += 1;
    }
  }
  measured.codepoints_checked = index;
  measured.codepoint_mismatches = bad.length;
  // how many code points JavaScript's own \p{L} would class differently (why the ranges are exported)
  measured.native_letter_class_differences = unicodeVersionDifferences;
  assert.equal(bad.length, 0, `JS/Rust disagree on ${bad.length} code points: ${bad.slice(0, 20).join(", ")}`);
});

test("displayToken turns byte symbols back into text", () => {
  assert.equal(tok.displayToken("Ġgood"), " good");
  assert.equal(tok.displayToken("<s>"), "<s>");
  // U+1F600 is the UTF-8 bytes F0 9F 98 80: whole, it is the emoji; cut, each byte shows as <0xNN>, never U+FFFD.
  assert.equal(tok.displayToken("ðŁĺĢ"), "\u{1F600}");
  assert.equal(tok.displayToken("ðŁĺ"), "<0xF0><0x9F><0x98>");
  assert.equal(tok.displayToken("Ģ"), "<0x80>");
});

test("displayToken shows every adversarial token as explain (Python) does", () => {
  for (const row of fixture("display.json")) {
    const specials = new Set(["<s>", "</s>", "<pad>", "<unk>", "<mask>"]);
    const js = row.tokens.map((t) => (specials.has(t) ? t : tok.displayToken(t)));
    assert.deepEqual(js, row.display);
  }
});

test("preprocess equals roberta_math.model.preprocessing for every preprocessing it knows", () => {
  const cases = fixture("preprocessing.json");
  for (const c of cases) assert.equal(tok.preprocess(c.text, c.name), c.expected, `${c.name}: ${c.text}`);
  assert.throws(() => tok.preprocess("x", "lowercase"));
  measured.preprocessing_cases = cases.length;
});
