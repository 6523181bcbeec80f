// CPU time of the page's forward pass (src/roberta_math/web/math.js) in Node, which runs the
// same V8 engine as Chromium: process.cpuUsage counts only this process's own CPU time, so a
// busy shared machine slows the wall clock but not this number. Called by bench_live_page.py.
// Usage: node live_forward_cpu.mjs SITE_FIGURES_DIR LENGTH...
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const core = require("../src/roberta_math/web/math.js");
const [dir, ...lengths] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(join(dir, "live-model.json"), "utf8"));
const bytes = readFileSync(join(dir, manifest.weights.file));
const model = core.modelFromManifest(manifest, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const out = {};
for (const n of lengths.map(Number)) {
  const ids = [0, ...Array.from({ length: n - 2 }, (_, i) => 100 + (i % 500)), 2];
  for (let k = 0; k < 5; k++) core.forward(model, ids); // warm up the JIT
  const runs = 20, samples = [];
  for (let k = 0; k < runs; k++) {
    const start = process.cpuUsage();
    core.forward(model, ids);
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / 1000);
  }
  samples.sort((a, b) => a - b);
  out[n] = samples[Math.floor(runs / 2)];
}
console.log(JSON.stringify(out));
