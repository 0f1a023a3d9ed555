#!/usr/bin/env node
// Our app as a bench peer (see README.md): serves the built app (`cargo xtask dist` -> dist/),
// opens it in headless Chromium and uses it the way a person does, through its data-testids:
// pick the backend and precision, load the model (timed, cold), set greedy settings, then per run
// clear the conversation, send the prompt file's user message and read the answer's meta line
// ("37 tokens · max tokens · 12.3 s · first token after 4.1 s (512-token prompt) · 3.0 tok/s").
// Prints one JSON object per run on stdout; everything else goes to stderr.
//
//   node ours-page.mjs --dist dist --prompt prompt.json --backend cpu --precision f32 \
//       --new-tokens 128 --runs 3

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  UsageError,
  makeLog,
  firstLine,
  parseCliValues,
  posIntOption,
  readPromptIds,
  checkModelFile,
  checkChromium,
  readGgufVocab,
  detokenizer,
  resolveUnder,
  startStaticServer,
  startBrowser,
  watchPage,
  treeCpuSeconds,
  cpuDelta,
  runSession,
  runMain,
} from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
/** The app's default model (what "Load model" loads), relative to the dist directory. */
const DEFAULT_MODEL = path.join('models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
/** The app's "Max new tokens" field accepts 1..=1024 (src/components/settings.rs). */
const MAX_NEW_TOKENS = 1024;
/** SmolLM2's chat template default, used if the GGUF's template cannot be read for it. */
const FALLBACK_SYSTEM = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face';

const USAGE = `usage: node ours-page.mjs --prompt PROMPT.json [options]

  --dist DIR           the built app, from \`cargo xtask dist\` (default <repo>/dist)
  --prompt PATH        JSON file with {"ids": [token ids]} of a ChatML conversation: the default
                       system prompt, one user message, the assistant header (required)
  --backend B          cpu | webgpu (default cpu)
  --precision P        f32 | quantized (default f32)
  --new-tokens N       the app's "Max new tokens" (1..${MAX_NEW_TOKENS}, default 128)
  --runs N             timed answers (default 1; one model load for all)
  --model PATH         GGUF whose vocabulary detokenizes the ids (default DIST/${DEFAULT_MODEL})
  --chromium PATH      Chromium binary (default $CHROMIUM or /usr/bin/chromium)
  --timeout S          give up after S seconds in all (default 3600)
  --threads T          the CPU backend's threads: 1 (the page's \`?threads=1\`) or all (the page
                       picks: every core, up to 8, through its threaded module; default 1)
  --as-opened          the page as a visitor finds it: its default sampling and penalties and
                       capping on (both columns answer; the default column's answer is timed,
                       the capped twin's rate is reported beside it)
  --page-query Q       more of the page's address query, e.g. \`prompt-pass=batched\` or
                       \`matvec=cooperative\` to run WebGPU shapes this adapter would not get
  --verbose            Chromium's stderr, HTTP requests and the page's console to stderr
  -h, --help           this text`;

const NAME = 'ours-page-bench';
const log = makeLog(NAME);

/** The page's address query: `?threads=1` where asked, and `--page-query`. */
function pageQuery(opts) {
  const params = [opts.threads === '1' ? 'threads=1' : '', opts.pageQuery].filter(Boolean);
  return params.length ? `?${params.join('&')}` : '';
}

function parseCli(argv) {
  const values = parseCliValues(
    argv,
    {
      dist: { type: 'string', default: path.join(REPO, 'dist') },
      prompt: { type: 'string' },
      backend: { type: 'string', default: 'cpu' },
      precision: { type: 'string', default: 'f32' },
      'new-tokens': { type: 'string', default: '128' },
      runs: { type: 'string', default: '1' },
      model: { type: 'string' },
      chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
      timeout: { type: 'string', default: '3600' },
      verbose: { type: 'boolean', default: false },
      'as-opened': { type: 'boolean', default: false },
      threads: { type: 'string', default: '1' },
      'page-query': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE
  );
  const posInt = (name, min = 1) => posIntOption(values, name, min);
  if (!values.prompt) throw new UsageError('--prompt is required');
  if (!['cpu', 'webgpu'].includes(values.backend)) throw new UsageError(`--backend must be cpu or webgpu, got ${values.backend}`);
  if (!['f32', 'quantized'].includes(values.precision)) throw new UsageError(`--precision must be f32 or quantized, got ${values.precision}`);
  const newTokens = posInt('new-tokens');
  if (newTokens > MAX_NEW_TOKENS) throw new UsageError(`--new-tokens must be <= ${MAX_NEW_TOKENS} (the app's limit), got ${newTokens}`);
  if (!['1', 'all'].includes(values.threads)) throw new UsageError(`--threads must be 1 or all, got ${values.threads}`);
  if (!/^([a-z-]+=[a-z0-9-]+(&|$))*$/.test(values['page-query'])) {
    throw new UsageError(`--page-query must be name=value pairs joined by &, got ${values['page-query']}`);
  }
  const dist = path.resolve(values.dist);
  return {
    threads: values.threads,
    pageQuery: values['page-query'],
    dist,
    prompt: path.resolve(values.prompt),
    backend: values.backend,
    precision: values.precision,
    newTokens,
    runs: posInt('runs'),
    model: path.resolve(values.model ?? path.join(dist, DEFAULT_MODEL)),
    chromium: values.chromium,
    timeoutS: posInt('timeout'),
    verbose: values.verbose,
    asOpened: values['as-opened'],
  };
}

function checkInputs(opts) {
  if (!fs.existsSync(path.join(opts.dist, 'index.html'))) {
    throw new Error(`${opts.dist} has no index.html: build the app first (\`cargo xtask dist\`) or pass --dist DIR`);
  }
  checkModelFile(opts.model);
  checkChromium(opts.chromium);
}

/**
 * Which meta line the built app writes: "new" if its wasm has the "first token after … (N-token
 * prompt)" part, else "old" ("37 tokens · max tokens · 12.3 s · 3.0 tok/s").
 */
function distMetaFormat(dist) {
  const wasm = fs.readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  if (wasm.length === 0) throw new Error(`${dist} has no .wasm file: not a built app?`);
  const needle = Buffer.from('first token after');
  return wasm.some((f) => fs.readFileSync(path.join(dist, f)).includes(needle)) ? 'new' : 'old';
}

// ---------------------------------------------------------------------------------------------
// The prompt: the ids must be `<|im_start|>system\n{default system prompt}<|im_end|>\n
// <|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n`; the page gets USER as the message
// (the app renders the same frame from its chat template when the system prompt field is empty).

function defaultSystemPrompt(vocab) {
  const m = /'<\|im_start\|>system\n([^']*?)<\|im_end\|>/.exec(vocab.chatTemplate ?? '');
  return m ? m[1] : FALLBACK_SYSTEM;
}

function userMessage(modelPath, ids) {
  const vocab = readGgufVocab(modelPath);
  const text = detokenizer(vocab)(ids);
  if (text === null) throw new Error('the prompt ids do not decode to valid UTF-8 text, so they cannot be typed into the page');
  const system = defaultSystemPrompt(vocab);
  const head = `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`;
  const tail = '<|im_end|>\n<|im_start|>assistant\n';
  if (!text.startsWith(head)) {
    const got = JSON.stringify(text.slice(0, head.length + 20));
    throw new Error(`the prompt does not start with the default system prompt and a user turn (${JSON.stringify(head)}); it starts ${got}`);
  }
  if (!text.endsWith(tail) || text.length < head.length + tail.length) {
    throw new Error(`the prompt does not end with the assistant header ${JSON.stringify(tail)}`);
  }
  const user = text.slice(head.length, text.length - tail.length);
  if (/<\|im_(start|end)\|>/.test(user)) throw new Error('the prompt has more than one user turn (or another role); the page can only send one message');
  if (!user.trim()) throw new Error('the prompt\'s user message is empty (the page sends no empty message)');
  return { user, system };
}

// ---------------------------------------------------------------------------------------------
// The answer's meta line (src/session.rs, src/conversation.rs `answer_timing`):
//   "{tokens} tokens · {stop} · {total:.1} s · first token after {ttft:.1} s ({n}-token prompt)
//    · {rate:.1} tok/s[ · steered α = …][ · N earliest messages left out to fit the context]"
// with rate = (tokens - 1) / (total - ttft); an answer of one token (or an older build) has only
// "{total:.1} s · {rate:.1} tok/s" with rate = tokens / total.

const NUM = String.raw`(\d+(?:\.\d+)?)`;

export function parseMeta(meta) {
  const parts = meta.trim().split(' · ');
  const fail = (why) => {
    throw new Error(`cannot read the answer's meta line (${why}): ${JSON.stringify(meta)}`);
  };
  const tokens = /^(\d+) tokens?$/.exec(parts[0] ?? '');
  if (!tokens) fail('no token count');
  const stop = parts[1];
  if (!stop) fail('no stop reason');
  const total = new RegExp(`^${NUM} s$`).exec(parts[2] ?? '');
  if (!total) fail('no total seconds');
  const out = { tokens: Number(tokens[1]), stop, total_s: Number(total[1]), ttft_s: null, prompt_tokens: null, rate: null, format: null, extras: [] };
  let i = 3;
  const first = new RegExp(`^first token after ${NUM} s \\((\\d+)-token prompt\\)$`).exec(parts[i] ?? '');
  if (first) {
    out.ttft_s = Number(first[1]);
    out.prompt_tokens = Number(first[2]);
    out.format = 'new';
    i++;
  } else {
    out.format = 'short';
  }
  const rate = new RegExp(`^${NUM} tok/s$`).exec(parts[i] ?? '');
  if (rate) {
    out.rate = Number(rate[1]);
    i++;
  } else if (first) {
    fail('no tok/s after the first-token part');
  }
  out.extras = parts.slice(i);
  return out;
}

const round3 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

// ---------------------------------------------------------------------------------------------
// The static server: the dist directory as it is (no COOP/COEP needed: the app is single-page,
// single-threaded wasm; it brings its own CSP and service worker).

function startServer(dist, verbose) {
  const root = fs.realpathSync(dist);
  const route = (urlPath) => {
    let file = urlPath === '/' ? path.join(root, 'index.html') : resolveUnder(root, urlPath.slice(1));
    if (file && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (urlPath === '/favicon.ico' && !(file && fs.existsSync(file))) return 'favicon';
    return file;
  };
  // Served as a host configured for the app serves it: cross-origin isolated, so that the page
  // may run its threaded module (docs/threads.md); `--threads 1` then asks for one thread.
  const headers = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  };
  return startStaticServer({ route, headers, verbose, log });
}

// ---------------------------------------------------------------------------------------------
// WebGPU calls, counted inside the inference worker (the page's own thread never touches the
// GPU). Counts do not depend on the machine: they are what any GPU would be asked to run.
// `snap` is taken at every Token message the worker posts: one message per forward pass (the
// worker posts each generated token after the forward that feeds it), so the difference between
// consecutive snapshots is one decode step.
//
// Each step is also cut into three stretches of wall time, which say what bounds it on this
// machine (unlike the counts, they depend on it):
//   encode: from the previous Token message to the step's first queue submit — the worker
//           building the forward pass and recording its dispatches while the GPU waits;
//   gpu:    from that submit until the readback's mapAsync resolves — the GPU running the step
//           (and the browser's GPU process around it);
//   host:   from there to this Token message — the logits read, sampling, probes, the post.

export const GPU_COUNTER = `(() => {
  if (self.__gpu) return;
  const c = { dispatch: 0, submit: 0, readback: 0, buffer: 0, encode_ms: 0, gpu_ms: 0, host_ms: 0 };
  const snaps = [];
  let stepStart = performance.now();
  let firstSubmit = null;
  let mapped = null;
  const wrap = (proto, name, key, after) => {
    if (!proto || !proto[name]) return;
    const orig = proto[name];
    proto[name] = function (...args) {
      c[key]++;
      const out = orig.apply(this, args);
      return after ? after(out) : out;
    };
  };
  wrap(self.GPUComputePassEncoder && GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatch');
  wrap(self.GPUQueue && GPUQueue.prototype, 'submit', 'submit', (out) => {
    firstSubmit ??= performance.now();
    return out;
  });
  wrap(self.GPUBuffer && GPUBuffer.prototype, 'mapAsync', 'readback', (out) =>
    out.then((v) => { mapped = performance.now(); return v; }));
  wrap(self.GPUDevice && GPUDevice.prototype, 'createBuffer', 'buffer');
  const post = self.postMessage.bind(self);
  self.postMessage = (m, ...rest) => {
    if (typeof m === 'string' && m.startsWith('{"type":"Token"')) {
      const now = performance.now();
      if (firstSubmit != null && mapped != null && mapped >= firstSubmit) {
        c.encode_ms += firstSubmit - stepStart;
        c.gpu_ms += mapped - firstSubmit;
        c.host_ms += now - mapped;
      }
      const id = /"id":([0-9]+)/.exec(m);
      snaps.push({ ...c, answer: id ? Number(id[1]) : null });
      stepStart = now;
      firstSubmit = null;
      mapped = null;
    }
    return post(m, ...rest);
  };
  let start = { ...c };
  self.__gpu = {
    reset() { snaps.length = 0; start = { ...c }; },
    report() { return { start, snaps: snaps.slice(), end: { ...c } }; },
  };
})();`;

/// Per decoded token: the median over decode steps (consecutive Token snapshots of one answer)
/// of each count and of each stretch of time; per prefill token: what ran from Send to the first
/// Token, less one decode step, over the prompt's tokens (counts only). `null` where the answer
/// was too short to tell. With capping on the capped twin answers after the default column (its
/// own Token messages, another answer id): its decode steps are counted apart, as `capped_twin`
/// (its prefill is not: the default answer's re-read runs between the two).
const GPU_KEYS = ['dispatch', 'submit', 'readback', 'buffer'];
const TIME_KEYS = ['encode_ms', 'gpu_ms', 'host_ms'];

function medianOf(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function decodeSteps(snaps) {
  const steps = [];
  for (let i = 1; i < snaps.length; i++) {
    const d = {};
    for (const k of [...GPU_KEYS, ...TIME_KEYS]) d[k] = snaps[i][k] - snaps[i - 1][k];
    steps.push(d);
  }
  const gpuSteps = steps.filter((d) => d.dispatch > 0);
  const perDecode = {};
  for (const k of GPU_KEYS) perDecode[k] = medianOf(gpuSteps.map((d) => d[k]));
  // Only steps whose submit and readback were both seen carry time.
  const timed = gpuSteps.filter((d) => d.gpu_ms > 0);
  for (const k of TIME_KEYS) {
    const m = medianOf(timed.map((d) => d[k]));
    perDecode[k] = m == null ? null : Math.round(m * 10) / 10;
  }
  return { perDecode, count: steps.length };
}

export function gpuCounts(report, promptTokens) {
  const answers = [...new Set(report.snaps.map((s) => s.answer))];
  const of = (answer) => report.snaps.filter((s) => s.answer === answer);
  const timed = of(answers[0]);
  const { perDecode, count } = decodeSteps(timed);
  const first = timed[0];
  const perPrefill = {};
  for (const k of GPU_KEYS) {
    perPrefill[k] = first && perDecode[k] != null && promptTokens > 0
      ? Math.round(((first[k] - report.start[k] - perDecode[k]) / promptTokens) * 1000) / 1000
      : null;
  }
  const out = { per_decode_token: perDecode, per_prefill_token: perPrefill, decode_steps: count };
  if (answers.length > 1) {
    const twin = decodeSteps(of(answers[1]));
    out.capped_twin = { per_decode_token: twin.perDecode, decode_steps: twin.count };
  }
  return out;
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  checkInputs(opts);
  const ids = readPromptIds(opts.prompt);
  const { user } = userMessage(opts.model, ids);
  const metaFormat = distMetaFormat(opts.dist);
  const peer = `ours-page-${opts.backend}-${opts.precision}${opts.threads === 'all' ? '-mt' : ''}${opts.asOpened ? '-as-opened' : ''}`;
  if (metaFormat === 'old') {
    log(`warning: ${opts.dist} is an older build whose meta line has no time to first token and no prompt token count: ttft / prefill are null and the prompt length is not checked`);
  }

  const { chromium } = await import('playwright-core');
  const started = Date.now();
  const remainingMs = () => Math.max(1000, opts.timeoutS * 1000 - (Date.now() - started) - 2000);

  await runSession({ name: NAME, log, timeoutS: opts.timeoutS }, async (session) => {
    session.server = await startServer(opts.dist, opts.verbose);
    const origin = `http://127.0.0.1:${session.server.address().port}`;
    log(`serving ${opts.dist} on ${origin}`);

    const { context, chromiumVersion } = await startBrowser(session, {
      chromium,
      binary: opts.chromium,
      verbose: opts.verbose,
      log,
      profilePrefix: 'ours-page-bench-chromium-',
      extraFlags: ['--enable-unsafe-webgpu'],
    });
    const chromePid = session.chrome.child.pid;
    const page = await context.newPage();
    // The inference worker, with the WebGPU call counter installed as soon as it exists (long
    // before it creates a GPU device, which happens when the model loads).
    let worker = null;
    const counted = new Promise((resolve) => {
      page.on('worker', (w) => {
        worker = w;
        w.evaluate(GPU_COUNTER).then(() => resolve(true), () => resolve(false));
      });
    });
    const watch = watchPage(page, { verbose: opts.verbose, log });
    const guard = (what, promise) =>
      Promise.race([promise, watch.died]).catch((e) => {
        const pageErr = watch.failure() ? ` (page error: ${watch.failure().message})` : '';
        throw new Error(`${what}: ${firstLine(e).replace(/^page\.\w+: /, '')}${pageErr}`);
      });
    // Waits until `css`'s attribute `attr` is one of `values`; returns it.
    const waitAttr = (what, css, attr, values, timeout = remainingMs()) =>
      guard(
        what,
        page
          .waitForFunction(
            ([css, attr, values]) => {
              const v = document.querySelector(css)?.getAttribute(attr);
              return values.includes(v) ? v : false;
            },
            [css, attr, values],
            { timeout, polling: 100 }
          )
          .then((h) => h.jsonValue())
      );
    const text = (css) => page.evaluate((css) => document.querySelector(css)?.textContent?.trim() ?? null, css);

    // CPU seconds of Chromium's process tree at the page's marks (run -> name -> s).
    const marks = new Map();
    await page.exposeBinding('__oursMark', (_src, run, name) => {
      if (!marks.has(run)) marks.set(run, {});
      marks.get(run)[name] = treeCpuSeconds(chromePid);
    });

    // 1. Open the app; close the welcome dialog (shown on a first visit).
    await guard('the app did not open', page.goto(`${origin}/${pageQuery(opts)}`, { waitUntil: 'load', timeout: 120000 }));
    await guard('the app did not start', page.waitForSelector('[data-testid=model-panel]', { timeout: 120000 }));
    const closeWelcome = page.locator('[data-testid=close-explainer]');
    if (await closeWelcome.count()) await guard('cannot close the welcome dialog', closeWelcome.click());

    // 2. Backend and precision, then the timed cold load.
    const idle = await waitAttr('the model panel did not become idle', '[data-testid=model-panel]', 'data-state', ['idle', 'failed'], 120000);
    if (idle !== 'idle') throw new Error(`the engine failed to start: ${await text('[data-testid=engine-status]')}`);
    const gpuState = await waitAttr('the WebGPU check did not finish', '[data-testid=webgpu-status]', 'data-state', ['available', 'unavailable'], 120000);
    const adapter = await text('[data-testid=webgpu-status]');
    if (opts.backend === 'webgpu' && gpuState !== 'available') throw new Error(`WebGPU is not available in this Chromium: ${adapter}`);
    for (const [testid, value] of [['backend-select', opts.backend], ['precision-select', opts.precision]]) {
      await guard(`cannot choose ${value}`, page.selectOption(`[data-testid=${testid}]`, value));
      const now = await page.inputValue(`[data-testid=${testid}]`);
      if (now !== value) throw new Error(`[data-testid=${testid}] shows ${now} after choosing ${value}`);
    }
    await page.evaluate(() => {
      const rec = (window.__oursLoad = { click: null, end: null, state: null, firstSeen: {} });
      document.querySelector('[data-testid=load-model]').addEventListener('click', () => (rec.click ??= performance.now()), { capture: true, once: true });
      const panel = document.querySelector('[data-testid=model-panel]');
      const obs = new MutationObserver(() => {
        const s = panel.getAttribute('data-state');
        if (rec.click != null) rec.firstSeen[s] ??= performance.now();
        if ((s === 'ready' || s === 'failed') && rec.click != null && rec.end == null) {
          rec.end = performance.now();
          rec.state = s;
          obs.disconnect();
        }
      });
      obs.observe(panel, { attributes: true, attributeFilter: ['data-state'] });
    });
    log(`${peer}: loading the model (${opts.backend}, ${opts.precision}); Chromium ${chromiumVersion}; ${adapter}`);
    await guard('cannot click Load model', page.click('[data-testid=load-model]'));
    const loaded = await waitAttr('the model did not load', '[data-testid=model-panel]', 'data-state', ['ready', 'failed']);
    const engineStatus = await text('[data-testid=engine-status]');
    if (loaded !== 'ready') throw new Error(`the model did not load: ${engineStatus}`);
    await guard('the load timing was not recorded', page.waitForFunction(() => window.__oursLoad.end != null, null, { timeout: 10000, polling: 50 }));
    const loadRec = await page.evaluate(() => window.__oursLoad);
    const loadS = round3((loadRec.end - loadRec.click) / 1000);
    const fetchS = loadRec.firstSeen.preparing != null ? round3((loadRec.firstSeen.preparing - loadRec.click) / 1000) : null;
    const device = /loaded on (.+?), (?:f32|quantized) weights/.exec(engineStatus ?? '')?.[1] ?? null;
    const wantWeights = opts.precision === 'f32' ? 'f32 weights' : 'quantized weights';
    const wantDevice = opts.backend === 'webgpu' ? 'WebGPU' : 'CPU';
    if (!engineStatus.includes(wantWeights) || !device?.startsWith(wantDevice)) {
      throw new Error(`the model loaded with other settings than asked (${opts.backend}, ${opts.precision}): ${engineStatus}`);
    }
    // The CPU backend's thread count, from its name ("CPU (burn flex, wasm, 2 threads)"); builds
    // before the threaded module name none.
    const threadsUsed = Number(/(\d+) threads?\)/.exec(device)?.[1] ?? 1);
    if (opts.backend === 'cpu' && opts.threads === 'all' && threadsUsed < 2) {
      throw new Error(`asked for every core but the page runs one thread (is dist/threads/ built?): ${engineStatus}`);
    }
    const axisLoaded = (await page.locator('[data-testid=cap-first-layer]').count()) > 0;
    if (!axisLoaded) log(`warning: no Assistant Axis loaded (${await text('[data-testid=axis-status]')}): answers are not scored, so the timings lack the probes`);
    log(`${peer}: ${engineStatus} (load ${loadS} s)`);

    // 3. Settings: one answer per message (capping off), greedy, no penalty, no steering, the
    //    template's default system prompt.
    //    With --as-opened: capping on and the page's own sampling defaults; only the length is set.
    const capping = page.locator('[data-testid=capping-toggle]');
    if (opts.asOpened) {
      if (!axisLoaded) throw new Error('--as-opened needs the axis file (capping on), and none loaded');
      if (!(await capping.isChecked())) await guard('cannot turn capping on', capping.click());
      if (!(await capping.isChecked())) throw new Error('capping is still off after ticking it');
    } else {
      if (await capping.isChecked()) await guard('cannot turn capping off', capping.click());
      if (await capping.isChecked()) throw new Error('capping is still on after unticking it');
    }
    const settings = opts.asOpened
      ? [['setting-max-tokens', String(opts.newTokens)]]
      : [
          ['setting-temperature', '0'],
          ['setting-frequency-penalty', '0'],
          ['setting-max-tokens', String(opts.newTokens)],
        ];
    if (opts.asOpened) {
      const read = async (testid) => page.inputValue(`[data-testid=${testid}]`);
      log(`${peer}: the page's own settings: temperature ${await read('setting-temperature')}, frequency penalty ${await read('setting-frequency-penalty')}`);
    }
    for (const [testid, value] of settings) {
      // As the browser tests' `set_input`: the value, then the change event the app listens to.
      await page.evaluate(([testid, value]) => {
        const el = document.querySelector(`[data-testid=${testid}]`);
        if (!el) throw new Error(`no [data-testid=${testid}]`);
        el.value = value;
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }, [testid, value]);
      const now = await page.inputValue(`[data-testid=${testid}]`);
      if (Number(now) !== Number(value)) throw new Error(`[data-testid=${testid}] reads ${now} after setting ${value}`);
    }
    const system = await page.inputValue('[data-testid=system-prompt]');
    if (system.trim()) throw new Error(`the system prompt field is not empty (${JSON.stringify(system)}), so the page would not use the template's default`);
    const steering = await text('[data-testid=steering-value]');
    if (steering != null && steering !== 'off') throw new Error(`steering is on (${steering})`);

    // 4. The runs: clear, send, wait for the end of the answer, read its meta line.
    const userAgent = await page.evaluate(() => navigator.userAgent);
    log(`${peer}: ${ids.length} prompt ids (user message ${user.length} chars), ${opts.newTokens} new tokens, ${opts.runs} run(s)`);
    let firstAnswer = null;
    for (let run = 0; run < opts.runs; run++) {
      const clear = page.locator('[data-testid=clear]');
      if (await clear.isEnabled()) await guard('cannot clear the conversation', clear.click());
      await guard(
        'the conversation did not clear',
        page.waitForFunction(() => document.querySelectorAll('[data-testid=message-assistant], [data-testid=message-user]').length === 0, null, { timeout: 30000, polling: 100 })
      );
      await guard('cannot type the message', page.fill('[data-testid=composer-input]', user));
      if ((await page.inputValue('[data-testid=composer-input]')) !== user) throw new Error('the composer does not hold the message as typed');
      await guard('Send did not become enabled', page.waitForSelector('[data-testid=send]:not([disabled])', { timeout: 30000 }));
      await page.evaluate((run) => {
        const col = document.querySelector('[data-testid=column-default]');
        const rec = (window.__oursRun = { send: null, first: null, last: null, done: null, chunks: 0, len: 0 });
        const onClick = (e) => {
          if (e.target.closest?.('[data-testid=send]')) {
            rec.send ??= performance.now();
            document.removeEventListener('click', onClick, true);
          }
        };
        document.addEventListener('click', onClick, true);
        const obs = new MutationObserver(() => {
          if (rec.send == null) return;
          const all = col.querySelectorAll('[data-testid=message-assistant]');
          const m = all[all.length - 1];
          if (!m) return;
          const now = performance.now();
          const len = (m.querySelector('.message-text')?.textContent ?? '').length;
          if (len !== rec.len) {
            rec.len = len;
            rec.chunks++;
            rec.last = now;
            if (rec.first == null && len > 0) {
              rec.first = now;
              window.__oursMark(run, 'first');
            }
            window.__oursMark(run, 'last');
          }
          if (m.getAttribute('data-streaming') === 'false' && rec.done == null) {
            rec.done = now;
            obs.disconnect();
          }
        });
        obs.observe(col, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-streaming'] });
      }, run);
      if (!marks.has(run)) marks.set(run, {});
      const counting = opts.backend === 'webgpu' && worker && (await counted);
      if (counting) await worker.evaluate(() => self.__gpu.reset());
      marks.get(run).start = treeCpuSeconds(chromePid);
      await guard('cannot click Send', page.click('[data-testid=send]'));
      await guard(`run ${run}: the answer did not finish`, page.waitForFunction(() => window.__oursRun.done != null, null, { timeout: remainingMs(), polling: 250 }));
      // With capping on the capped twin answers next; the next run can clear only after it.
      let capped = null;
      if (opts.asOpened) {
        await guard(
          `run ${run}: the capped twin did not finish`,
          page.waitForSelector('[data-testid=column-capped] [data-testid=message-assistant][data-streaming=false]', { timeout: remainingMs() })
        );
        const cappedMeta = await page.textContent('[data-testid=column-capped] [data-testid=message-assistant] [data-testid=message-meta]');
        const cm = parseMeta(cappedMeta ?? '');
        capped = { meta: cappedMeta, tokens: cm.tokens, meta_tok_s: cm.rate, decode_tok_s: decodeRate(cm).tokS };
      }
      const r = await page.evaluate(() => {
        const all = document.querySelectorAll('[data-testid=column-default] [data-testid=message-assistant]');
        const m = all[all.length - 1];
        return {
          rec: window.__oursRun,
          meta: m?.querySelector('[data-testid=message-meta]')?.textContent ?? null,
          error: m?.querySelector('.error')?.textContent ?? null,
          answer: m?.querySelector('.message-text')?.textContent ?? '',
          users: document.querySelectorAll('[data-testid=column-default] [data-testid=message-user]').length,
          answers: all.length,
        };
      });
      if (r.error) throw new Error(`run ${run}: the answer failed: ${r.error}`);
      if (r.users !== 1 || r.answers !== 1) throw new Error(`run ${run}: expected one message and one answer, the page shows ${r.users} and ${r.answers}`);
      if (!r.meta) throw new Error(`run ${run}: the answer has no meta line`);
      const meta = parseMeta(r.meta);
      if (meta.extras.length) throw new Error(`run ${run}: the answer was not a plain one (${meta.extras.join('; ')})`);
      if (meta.prompt_tokens != null && meta.prompt_tokens !== ids.length) {
        throw new Error(`run ${run}: the app's prompt has ${meta.prompt_tokens} tokens, the prompt file ${ids.length} ids (the ids are not the app's tokenization of their text)`);
      }
      if (meta.format !== 'new' && metaFormat === 'new') {
        throw new Error(`run ${run}: the meta line has no first-token time and prompt count (an answer of ${meta.tokens} token(s)?): ${JSON.stringify(r.meta)}`);
      }
      if (!['max tokens', 'end of turn'].includes(meta.stop)) throw new Error(`run ${run}: the answer ended with "${meta.stop}"`);
      if (meta.tokens > opts.newTokens || (meta.stop === 'max tokens' && meta.tokens !== opts.newTokens)) {
        throw new Error(`run ${run}: ${meta.tokens} tokens with max tokens ${opts.newTokens}`);
      }
      const gpu = counting ? gpuCounts(await worker.evaluate(() => self.__gpu.report()), meta.prompt_tokens ?? ids.length) : null;
      const m = marks.get(run) || {};
      const ttft = meta.ttft_s;
      const { seconds: decodeS, tokS: decodeTokS } = decodeRate(meta);
      const rec = r.rec;
      const sincSend = (t) => (t == null || rec.send == null ? null : round3((t - rec.send) / 1000));
      const line = {
        peer,
        run,
        backend: opts.backend,
        precision: opts.precision,
        adapter,
        device,
        threads: opts.backend === 'cpu' ? threadsUsed : null,
        load_s: loadS,
        prompt_tokens: meta.prompt_tokens,
        new_tokens: meta.tokens,
        ttft_s: ttft,
        prefill_s: ttft,
        decode_s: decodeS,
        prefill_tok_s: ttft ? round3(meta.prompt_tokens / ttft) : null,
        decode_tok_s: decodeTokS,
        total_s: meta.total_s,
        stop: meta.stop,
        user_agent: userAgent,
        prefill_cpu_s: cpuDelta(m.start, m.first),
        decode_cpu_s: cpuDelta(m.first, m.last),
        chromium_version: chromiumVersion,
        engine_status: engineStatus,
        axis_loaded: axisLoaded,
        meta: r.meta,
        meta_format: meta.format === 'new' ? 'new' : 'old',
        meta_tok_s: meta.rate,
        prompt_ids: ids.length,
        page_ttft_s: sincSend(rec.first),
        page_last_token_s: sincSend(rec.last),
        page_done_s: sincSend(rec.done),
        fetch_s: fetchS,
        answer_chars: r.answer.length,
        answer_head: r.answer.slice(0, 80),
        gpu_calls: gpu,
        as_opened: opts.asOpened,
        capped_answer: capped,
        host_cpus: os.cpus().length,
        host_loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100,
      };
      process.stdout.write(JSON.stringify(line) + '\n');
      if (firstAnswer === null) firstAnswer = r.answer;
      else if (r.answer !== firstAnswer) log(`warning: run ${run}'s answer differs from run 0's (the same settings and seed should repeat it)`);
      if (capped) log(`${peer} run ${run}: the capped twin: ${capped.tokens} tokens, decode ${capped.decode_tok_s ?? 'n/a'} tok/s (${capped.meta_tok_s} tok/s in its meta line)`);
      const f = (x, d = 2) => (x == null ? 'n/a' : x.toFixed(d));
      if (gpu) log(`${peer} run ${run}: WebGPU calls per decoded token ${JSON.stringify(gpu.per_decode_token)}, per prompt token ${JSON.stringify(gpu.per_prefill_token)} (${gpu.decode_steps} steps)`);
      if (gpu?.capped_twin) log(`${peer} run ${run}: the capped twin's WebGPU calls per decoded token ${JSON.stringify(gpu.capped_twin.per_decode_token)} (${gpu.capped_twin.decode_steps} steps)`);
      log(`${peer} run ${run}: ${meta.tokens} tokens (${meta.stop}), ttft ${ttft == null ? "n/a" : `${f(ttft, 1)} s`} (prefill ${f(line.prefill_tok_s)} tok/s), decode ${f(line.decode_tok_s)} tok/s, total ${f(meta.total_s, 1)} s, load ${f(loadS)} s`);
    }
  });
}

/// An answer's decode time and rate from its parsed meta line: the app's own rate (from
/// unrounded times, shown to 0.1 tok/s) or the one from the seconds (each shown to 0.1 s),
/// whichever is the less uncertain after rounding. `null`s where the line cannot tell.
function decodeRate(meta) {
  const seconds = meta.ttft_s == null ? null : round3(meta.total_s - meta.ttft_s);
  let tokS = null;
  if (seconds > 0 && meta.tokens > 1) {
    const fromSeconds = (meta.tokens - 1) / seconds;
    const rateErr = meta.rate > 0 ? 0.05 / meta.rate : Infinity;
    tokS = round3(rateErr < 0.1 / seconds ? meta.rate : fromSeconds);
  }
  return { seconds, tokS };
}

// Run as a script (importing the module, e.g. for `parseMeta`, runs nothing).
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) runMain(main, { name: NAME, log });
