// kerazoo's web page: runs an exported .tflite file in the browser with LiteRT.js (WebAssembly) and
// does what `kerazoo sample` / `kerazoo translate` do. Everything shown from files is set as text
// (textContent), never as markup. `page.json` (written by `kerazoo export --format web`) says what
// the model is; `window.kerazooPage` exposes the page's state for tests.
import { loadLiteRt, loadAndCompile, Tensor } from "./litertjs/core/dist/index.js";

const $ = (id) => document.getElementById(id);
const state = { ready: false, config: null, timings: [], last: null, errors: [] };
window.kerazooPage = state;

// --- messages ------------------------------------------------------------------------------------

class InputError extends Error {}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  state.errors.push(message);
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

function status(text) {
  $("status").textContent = text;
}

// --- the portable noise (kerazoo.runtime.portable_noise gives the same numbers in Python) --------

export function portableNoise(seed, count) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u1 = 1 - next();
    const u2 = next();
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

// --- reading the form ----------------------------------------------------------------------------

function integer(id, label, low, high) {
  const raw = $(id).value.trim();
  const value = Number(raw);
  if (raw === "" || !Number.isInteger(value) || value < low || value > high) {
    throw new InputError(`${label} must be a whole number from ${low} to ${high}. Received: "${raw}"`);
  }
  return value;
}

function number(id, label, low, high) {
  const raw = $(id).value.trim();
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value) || value < low || value > high) {
    throw new InputError(`${label} must be a number from ${low} to ${high}. Received: "${raw}"`);
  }
  return value;
}

function labelsFor(n) {
  const config = state.config;
  if (!config.num_classes) return null;
  const chosen = $("label").value;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = chosen === "" ? i % config.num_classes : Number(chosen);
  return labels;
}

// --- running the model ---------------------------------------------------------------------------

// Runs the model on `n` rows in batches of the export's fixed batch size (the last one padded with
// copies of its last row). `rows(name)` gives each input's row size; `inputs[name]` a typed array.
async function run(inputs, n) {
  const config = state.config;
  const batch = config.batch_size;
  const outputs = {};
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const tensors = {};
    for (const [name, spec] of Object.entries(config.inputs)) {
      const size = spec.shape.slice(1).reduce((a, b) => a * b, 1);
      const Kind = spec.dtype === "int32" ? Int32Array : Float32Array;
      const data = new Kind(batch * size);
      data.set(inputs[name].subarray(start * size, (start + count) * size));
      for (let i = count; i < batch; i++) data.copyWithin(i * size, (count - 1) * size, count * size);
      tensors[name] = new Tensor(data, [batch, ...spec.shape.slice(1)]);
    }
    const began = performance.now();
    const result = await state.model.run(tensors);
    const took = performance.now() - began;
    state.timings.push(took);
    for (const t of Object.values(tensors)) t.delete();
    for (const [name, tensor] of Object.entries(result)) {
      const array = tensor.toTypedArray();
      const size = array.length / batch;
      if (!outputs[name]) outputs[name] = new array.constructor(n * size);
      outputs[name].set(array.subarray(0, count * size), start * size);
      tensor.delete();
    }
  }
  return outputs;
}

// --- drawing -------------------------------------------------------------------------------------

const SCALE = 3;
const PAD = 2;

function drawGrid(images, shape, columns) {
  const [n, h, w, c] = shape;
  const rows = Math.ceil(n / columns);
  const canvas = $("grid");
  canvas.width = PAD + columns * (w * SCALE + PAD);
  canvas.height = PAD + rows * (h * SCALE + PAD);
  canvas.dataset.scale = SCALE;
  canvas.dataset.pad = PAD;
  canvas.dataset.columns = columns;
  canvas.dataset.shape = shape.join(",");
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  for (let k = 0; k < n; k++) {
    const x0 = PAD + (k % columns) * (w * SCALE + PAD);
    const y0 = PAD + Math.floor(k / columns) * (h * SCALE + PAD);
    for (let y = 0; y < h * SCALE; y++) {
      for (let x = 0; x < w * SCALE; x++) {
        const src = ((k * h + Math.floor(y / SCALE)) * w + Math.floor(x / SCALE)) * c;
        const dst = ((y0 + y) * canvas.width + x0 + x) * 4;
        pixels.data[dst] = images[src];
        pixels.data[dst + 1] = images[src + (c === 3 ? 1 : 0)];
        pixels.data[dst + 2] = images[src + (c === 3 ? 2 : 0)];
        pixels.data[dst + 3] = 255;
      }
    }
  }
  context.putImageData(pixels, 0, 0);
  $("grid").hidden = false;
  $("table-box").hidden = true;
}

function showTimes(n, extra = "") {
  const times = state.timings.slice(1).length ? state.timings.slice(1) : state.timings;
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  $("timing").textContent =
    `first sample ${state.firstSampleMs.toFixed(0)} ms (loading and compiling ${state.loadMs.toFixed(0)} ms); ` +
    `median ${median.toFixed(1)} ms per batch of ${state.config.batch_size} (${times.length} batches)` + extra;
}

// How long the action took (state.drawMs), and for the first one, when it ended since the page
// was opened (state.firstSampleAt) and the load plus this action (state.firstSampleMs).
function finished(began) {
  const now = performance.now();
  state.drawMs = now - began;
  if (state.firstSampleMs === undefined) {
    state.firstSampleMs = state.loadMs + state.drawMs;
    state.firstSampleAt = now;
  }
}

// --- roles ---------------------------------------------------------------------------------------

function generatorInputs(n, seed) {
  const config = state.config;
  const inputs = { noise: portableNoise(seed, n * config.latent_dim) };
  const labels = labelsFor(n);
  if (labels) inputs.labels = labels;
  if (config.inputs.truncation) {
    inputs.truncation = new Float32Array(n).fill(number("truncation", "Truncation", -1, 1));
  }
  return inputs;
}

async function sampleGenerator(n, seed) {
  const inputs = generatorInputs(n, seed);
  const outputs = await run(inputs, n);
  return { images: outputs.images_uint8, inputs };
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// kerazoo.sampling.ddim_timesteps: `steps` evenly spaced steps from the last to the first.
function ddimTimesteps(timesteps, steps) {
  const values = new Set();
  const step = (timesteps - 1) / (steps - 1 || 1);
  for (let i = 0; i < steps; i++) values.add(steps === 1 ? 0 : i === steps - 1 ? timesteps - 1 : roundHalfEven(i * step));
  return [...values].sort((a, b) => b - a);
}

// kerazoo.sampling.ddim_sample with eta 0 (deterministic), starting from the portable noise.
async function sampleDiffusion(n, seed) {
  const config = state.config;
  const [h, w, c] = config.image_shape;
  const size = h * w * c;
  const steps = integer("steps", "Steps", 1, config.timesteps);
  const labels = labelsFor(n);
  const guidance = labels ? number("guidance", "Guidance", 0, 20) : 1;
  const x0noise = portableNoise(seed, n * size);
  const x = Float64Array.from(x0noise);
  const ts = ddimTimesteps(config.timesteps, steps);
  const ab = config.alpha_bar;
  const predict = async (t, classes) => {
    const inputs = { x_t: Float32Array.from(x), t: new Int32Array(n).fill(t) };
    if (config.inputs.labels) inputs.labels = classes;
    return (await run(inputs, n)).noise;
  };
  const nullClass = new Int32Array(n).fill(config.num_classes || 0);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    let eps;
    if (!labels) eps = Float64Array.from(await predict(t, nullClass));
    else if (guidance === 1) eps = Float64Array.from(await predict(t, labels));
    else {
      const unconditional = await predict(t, nullClass);
      eps = Float64Array.from(unconditional);
      if (guidance !== 0) {
        const conditional = await predict(t, labels);
        for (let j = 0; j < eps.length; j++) eps[j] += guidance * (conditional[j] - unconditional[j]);
      }
    }
    const aT = ab[t];
    const aPrev = i + 1 < ts.length ? ab[ts[i + 1]] : 1.0;
    for (let j = 0; j < x.length; j++) {
      const x0 = Math.min(1, Math.max(-1, (x[j] - Math.sqrt(1 - aT) * eps[j]) / Math.sqrt(aT)));
      const e = (x[j] - Math.sqrt(aT) * x0) / Math.sqrt(1 - aT);
      x[j] = Math.sqrt(aPrev) * x0 + Math.sqrt(Math.max(1 - aPrev, 0)) * e;
    }
    status(`Denoising: step ${i + 1} of ${ts.length}`);
  }
  const images = new Uint8Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const v = Math.min(1, Math.max(-1, Math.fround(x[j])));
    images[j] = Math.min(255, Math.max(0, roundHalfEven(Math.fround((v + 1) * 127.5))));
  }
  return { images, inputs: { noise: x0noise, labels } };
}

async function drawSamples() {
  const config = state.config;
  const n = integer("n", "How many", 1, config.max_n);
  const seed = integer("seed", "Seed", 0, 4294967295);
  status("Drawing...");
  const began = performance.now();
  const { images, inputs } =
    config.role === "diffusion" ? await sampleDiffusion(n, seed) : await sampleGenerator(n, seed);
  finished(began);
  const [h, w, c] = config.image_shape;
  const columns = inputs.labels && $("label").value === "" ? config.num_classes : Math.ceil(Math.sqrt(n));
  drawGrid(images, [n, h, w, c], Math.min(columns, n));
  state.last = { seed, n, images, shape: [n, h, w, c], labels: inputs.labels ? Array.from(inputs.labels) : null };
  status(`${n} samples, seed ${seed}.`);
  showTimes(n);
}

// --- table generators ----------------------------------------------------------------------------

function interp(x, xs, ys) {
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  return xs[hi] === xs[lo] ? ys[hi] : ys[lo] + ((x - xs[lo]) * (ys[hi] - ys[lo])) / (xs[hi] - xs[lo]);
}

// kerazoo.tables.TableTransform.decode.
function decodeRows(encoded, n, labels) {
  const transform = state.config.table_transform;
  const width = encoded.length / n;
  const names = [];
  const columns = [];
  let at = 0;
  for (const spec of transform.specs) {
    const column = [];
    if (spec.kind === "categorical") {
      const size = spec.categories.length;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < size; k++) if (encoded[i * width + at + k] > encoded[i * width + at + best]) best = k;
        column.push(String(spec.categories[best]));
      }
      at += size;
    } else {
      for (let i = 0; i < n; i++) {
        const rank = Math.min(1, Math.max(0, encoded[i * width + at]));
        const value = Math.min(spec.high, Math.max(spec.low, interp(rank, spec.references, spec.quantiles)));
        column.push(spec.kind === "integer" ? String(roundHalfEven(value)) : String(value));
      }
      at += 1;
    }
    names.push(spec.name);
    columns.push(column);
  }
  names.push(transform.label);
  columns.push(Array.from(labels, (k) => String(transform.classes[k])));
  return { names, rows: Array.from({ length: n }, (_, i) => columns.map((column) => column[i])) };
}

function csvCell(value) {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

async function makeRows() {
  const config = state.config;
  const n = integer("n", "How many", 1, config.max_n);
  const seed = integer("seed", "Seed", 0, 4294967295);
  status("Generating rows...");
  const began = performance.now();
  const inputs = generatorInputs(n, seed);
  const outputs = await run(inputs, n);
  finished(began);
  const table = decodeRows(outputs.rows, n, inputs.labels);
  const csv = [table.names, ...table.rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  state.last = { seed, n, csv, table };
  if (state.csvUrl) URL.revokeObjectURL(state.csvUrl);
  state.csvUrl = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  $("csv").disabled = false;
  const element = $("table");
  element.replaceChildren();
  const head = element.insertRow();
  for (const name of table.names) head.appendChild(document.createElement("th")).textContent = name;
  for (const row of table.rows.slice(0, 10)) {
    const line = element.insertRow();
    for (const cell of row) line.insertCell().textContent = cell;
  }
  $("table-box").hidden = false;
  $("grid").hidden = true;
  status(`${n} rows, seed ${seed}${n > 10 ? " (the first 10 shown)" : ""}.`);
  showTimes(n);
}

function downloadCsv() {
  const link = document.createElement("a");
  link.href = state.csvUrl;
  link.download = `${state.config.model}_synthetic.csv`;
  link.click();
}

// --- translators ---------------------------------------------------------------------------------

async function readImageFile(file) {
  const [h, w] = state.config.image_shape;
  if (!file.type.startsWith("image/")) {
    throw new InputError(`"${file.name}" is not an image (type "${file.type || "unknown"}"): choose a PNG or JPEG file.`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new InputError(`"${file.name}" cannot be read as an image: choose a PNG or JPEG file.`);
  }
  if (bitmap.width !== w || bitmap.height !== h) {
    throw new InputError(
      `This model takes ${w}x${h} images; "${file.name}" is ${bitmap.width}x${bitmap.height}. Resize or crop it to ${w}x${h}.`,
    );
  }
  const canvas = new OffscreenCanvas(w, h);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, w, h).data;
}

function padPixels() {
  const [h, w] = state.config.image_shape;
  const canvas = new OffscreenCanvas(w, h);
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage($("pad"), 0, 0, w, h);
  return context.getImageData(0, 0, w, h).data;
}

// RGBA pixels -> the model's input: grey by PIL's "L" (ITU-R 601-2, fixed point) or RGB, scaled
// to the model's input range as kerazoo.runtime.Translator.translate does.
function modelInput(rgba) {
  const [h, w, c] = state.config.image_shape;
  const [low, high] = state.config.input_range;
  const scale = Math.fround((high - low) / 255);
  const data = new Float32Array(h * w * c);
  const bytes = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    const values = c === 1 ? [(r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16] : [r, g, b];
    for (let k = 0; k < c; k++) {
      bytes[p * c + k] = values[k];
      data[p * c + k] = Math.fround(Math.fround(values[k] * scale) + low);
    }
  }
  return { data, bytes };
}

async function translate() {
  const config = state.config;
  const file = $("file").files[0];
  const rgba = file && !state.drawn ? await readImageFile(file) : padPixels();
  const { data, bytes } = modelInput(rgba);
  status("Translating...");
  const began = performance.now();
  const outputs = await run({ images: data }, 1);
  finished(began);
  const shape = [1, ...config.output_shape];
  const [h, w, c] = config.image_shape;
  drawGrid(outputs.images_uint8, shape, 1);
  state.last = { input: bytes, inputShape: [1, h, w, c], images: outputs.images_uint8, shape };
  status(file && !state.drawn ? `Translated "${file.name}".` : "Translated the drawing.");
  showTimes(1);
}

function setUpPad() {
  const [h, w] = state.config.image_shape;
  const pad = $("pad");
  const scale = Math.max(1, Math.round(256 / Math.max(h, w)));
  pad.width = w * scale;
  pad.height = h * scale;
  const context = pad.getContext("2d");
  const clear = () => {
    context.fillStyle = "#000";
    context.fillRect(0, 0, pad.width, pad.height);
    state.drawn = false;
  };
  clear();
  let down = false;
  let previous = null;
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
  };
  pad.addEventListener("pointerdown", (event) => {
    down = true;
    previous = point(event);
    state.drawn = true;
  });
  pad.addEventListener("pointermove", (event) => {
    if (!down) return;
    const current = point(event);
    context.strokeStyle = "#fff";
    context.lineWidth = 2.2 * scale;
    context.lineCap = "round";
    context.beginPath();
    context.moveTo(...previous);
    context.lineTo(...current);
    context.stroke();
    previous = current;
  });
  for (const name of ["pointerup", "pointerleave"]) pad.addEventListener(name, () => (down = false));
  $("clear").addEventListener("click", clear);
  $("file").addEventListener("change", () => (state.drawn = false));
}

// --- the page ------------------------------------------------------------------------------------

function showCard(config) {
  $("title").textContent = config.title;
  document.title = config.title;
  const table = $("card-table");
  for (const [key, value] of config.card) {
    const row = table.insertRow();
    row.insertCell().textContent = key;
    row.insertCell().textContent = value;
  }
}

function showControls(config) {
  const traits = new Set([config.role]);
  if (config.num_classes) traits.add("conditional");
  if (config.inputs.truncation) traits.add("truncation");
  if (config.role === "diffusion" && config.num_classes) traits.add("guidance");
  for (const element of document.querySelectorAll("[data-for]")) {
    element.hidden = !element.dataset.for.split(" ").some((trait) => traits.has(trait));
  }
  for (const [k, name] of (config.class_names || []).entries()) {
    const option = document.createElement("option");
    option.value = String(k);
    option.textContent = name;
    $("label").appendChild(option);
  }
  $("n").max = config.max_n;
  $("n").value = Math.min(config.default_n, config.max_n);
  if (config.role === "diffusion") {
    $("steps").value = config.sample_steps;
    $("guidance").value = config.guidance;
  }
  $("controls").hidden = false;
}

async function guarded(action) {
  clearError();
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error instanceof InputError ? error.message : `Something went wrong: ${error.message || error}`);
    status("");
    if (!(error instanceof InputError)) console.error(error);
  } finally {
    for (const button of document.querySelectorAll("button")) button.disabled = false;
    $("csv").disabled = !state.csvUrl;
  }
}

async function main() {
  let config;
  try {
    const response = await fetch("page.json");
    if (!response.ok) throw new Error(`page.json: HTTP ${response.status}`);
    config = await response.json();
  } catch (error) {
    showError(`Cannot read the page's model description (${error.message}). Serve this folder over HTTP, e.g. python -m http.server.`);
    return;
  }
  state.config = config;
  showCard(config);
  status("Loading LiteRT.js and the model...");
  const began = performance.now();
  // LiteRT's WebAssembly logs its INFO and WARNING lines on stderr (console.error by default):
  // kept in kerazooPage.runtimeLog and the console's debug level; its errors stay errors.
  state.runtimeLog = [];
  self.Module = {
    printErr: (line) => {
      state.runtimeLog.push(line);
      (/^(INFO|WARNING|VERBOSE)\b/.test(line) ? console.debug : console.error)(line);
    },
  };
  try {
    await loadLiteRt("./litertjs/core/wasm/");
    state.model = await loadAndCompile(config.artifact, { accelerator: "wasm" });
  } catch (error) {
    showError(`Cannot load the model: ${error.message || error}`);
    status("");
    return;
  }
  state.loadMs = performance.now() - began;
  showControls(config);
  if (config.role === "translator") setUpPad();
  const submit = { generator: drawSamples, diffusion: drawSamples, table_generator: makeRows, translator: translate };
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(submit[config.role]);
  });
  $("new").addEventListener("click", () => {
    $("seed").value = String((Number($("seed").value) || 0) + 1);
    guarded(drawSamples);
  });
  $("csv").addEventListener("click", downloadCsv);
  status("Ready.");
  state.ready = true;
  if (config.role === "generator" || config.role === "diffusion") await guarded(drawSamples);
}

main();
