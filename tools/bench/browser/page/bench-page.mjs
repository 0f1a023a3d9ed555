// In-page half of the wllama bench peer (see ../README.md). wllama.mjs serves this page, calls
// `window.runBench(opts)` through CDP and gets one result object per run back through the
// `__benchEmit` binding; `__benchMark` tells it where the prefill / decode phases start so it can
// read the browser's CPU time.
import { Wllama, LogLevel } from '/wllama/index.js';

// Greedy decoding: argmax of the logits, nothing else in the chain, no penalties. wllama 3.x is
// llama-server's server-context compiled to wasm, so these are llama-server request fields.
// `ignore_eos` keeps decoding to exactly `max_tokens` (llama-server implements it as a -inf
// bias on the end-of-generation tokens, so greedy picks the best non-EOG token there).
// `cache_prompt: false` makes every request prefill the whole prompt from an empty KV cache.
// `n_probs: 1` + `post_sampling_probs` put the sampled token id in every streamed chunk; after
// top-k 1 there is one candidate left, so this costs no full-vocabulary sort.
// `verbose` adds llama-server's own view of the request (`__verbose.generation_settings`) to
// the last chunk, which is checked below.
const GREEDY = {
  temperature: 0,
  top_k: 1,
  top_p: 1,
  min_p: 0,
  typical_p: 1,
  repeat_penalty: 1,
  repeat_last_n: 0,
  presence_penalty: 0,
  frequency_penalty: 0,
  dry_multiplier: 0,
  xtc_probability: 0,
  mirostat: 0,
  samplers: ['top_k'],
  ignore_eos: true,
  cache_prompt: false,
  n_probs: 1,
  post_sampling_probs: true,
  seed: 0,
  verbose: true,
};

const LOG_LIMIT = 4000;
const logLines = [];
let debugChunks = false;

function makeLogger(verbose) {
  const sink = (level) => (...args) => {
    const text = args.map((a) => (typeof a === 'string' ? a : safeString(a))).join(' ');
    if (logLines.length < LOG_LIMIT) logLines.push(text);
    if (level === 'error' || level === 'warn' || verbose) console[level](`[wllama] ${text}`);
  };
  return { debug: sink('debug'), log: sink('log'), warn: sink('warn'), error: sink('error') };
}

function safeString(v) {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function findLog(re) {
  for (const line of logLines) {
    const m = line.match(re);
    if (m) return m;
  }
  return null;
}

function tokenIds(chunk) {
  const content = chunk?.choices?.[0]?.logprobs?.content;
  if (!Array.isArray(content)) return [];
  return content.map((c) => c?.id).filter((id) => Number.isInteger(id));
}

const mark = (run, name) => {
  // Fire and forget: awaiting the CDP round trip would add it to the measured time.
  window.__benchMark?.(run, name).catch(() => {});
};

// One request: prefill `prompt` from an empty cache, then greedy-decode until `nPredict` tokens
// have been sampled.
async function generate(wllama, prompt, nPredict, run) {
  const out = [];
  let tFirst = null;
  let last = null;
  let chunks = 0;
  if (run !== undefined) mark(run, 'start');
  const t0 = performance.now();
  await wllama.createCompletion({
    ...GREEDY,
    prompt,
    max_tokens: nPredict,
    stream: true,
    onData: (chunk) => {
      const now = performance.now();
      chunks++;
      const got = tokenIds(chunk);
      if (debugChunks) {
        const c = chunk?.choices?.[0];
        console.log(`page: chunk ${chunks} +${(now - t0).toFixed(1)} ms ids=${JSON.stringify(got)} text=${JSON.stringify(c?.text)} finish=${c?.finish_reason}`);
      }
      if (got.length > 0) {
        if (tFirst === null) {
          tFirst = now;
          if (run !== undefined) mark(run, 'first');
        }
        out.push(...got);
      }
      last = chunk;
    },
  });
  const tDone = performance.now();
  if (run !== undefined) mark(run, 'end');
  if (tFirst === null) throw new Error('wllama streamed no token ids (n_probs / post_sampling_probs not honoured?)');
  if (debugChunks) console.log(`page: last chunk keys=${Object.keys(last || {})} settings=${safeString(last?.__verbose?.generation_settings ?? null).slice(0, 1500)}`);
  const timings = last?.timings;
  if (!timings || !(timings.prompt_ms > 0) || !(timings.predicted_ms > 0)) {
    throw new Error(`wllama's last chunk carries no timings: ${safeString(last).slice(0, 300)}`);
  }
  return { ids: out, t0, tFirst, tDone, timings, settings: last?.__verbose?.generation_settings ?? null, chunks };
}

function check(what, g, promptLen, nPredict) {
  const t = g.timings;
  if (t.cache_n !== undefined && t.cache_n !== 0) {
    throw new Error(`${what}: llama-server reused ${t.cache_n} cached prompt tokens; the prefill would not be measured`);
  }
  if (promptLen !== null && t.prompt_n !== promptLen) {
    throw new Error(
      `${what}: wllama tokenized the prompt text into ${t.prompt_n} tokens, not the ${promptLen} given ids ` +
        '(the ids are not the canonical tokenization of their text; wllama 3.x cannot take token ids directly)'
    );
  }
  if (t.predicted_n !== nPredict) throw new Error(`${what}: wllama generated ${t.predicted_n} tokens, asked for ${nPredict}`);
  const s = g.settings;
  if (s) {
    const bad = [];
    if (Array.isArray(s.samplers) && JSON.stringify(s.samplers) !== '["top_k"]') bad.push(`samplers=${JSON.stringify(s.samplers)}`);
    if (s.top_k !== undefined && s.top_k !== 1) bad.push(`top_k=${s.top_k}`);
    if (s.repeat_penalty !== undefined && s.repeat_penalty !== 1) bad.push(`repeat_penalty=${s.repeat_penalty}`);
    if (s.presence_penalty !== undefined && s.presence_penalty !== 0) bad.push(`presence_penalty=${s.presence_penalty}`);
    if (s.frequency_penalty !== undefined && s.frequency_penalty !== 0) bad.push(`frequency_penalty=${s.frequency_penalty}`);
    if (s.dry_multiplier !== undefined && s.dry_multiplier !== 0) bad.push(`dry_multiplier=${s.dry_multiplier}`);
    if (s.mirostat !== undefined && s.mirostat !== 0) bad.push(`mirostat=${s.mirostat}`);
    if (bad.length) throw new Error(`${what}: wllama did not take the greedy settings: ${bad.join(', ')}`);
  }
}

window.runBench = async (opts) => {
  const { ids, prompt, newTokens, runs, threads, modelUrl, wasmUrl, verbose } = opts;
  debugChunks = verbose;
  const emit = (obj) => window.__benchEmit(obj);
  const nCtx = ids.length + newTokens + 16;
  const nBatch = Math.max(ids.length, prompt.warmTokens);
  console.log(
    `page: crossOriginIsolated=${self.crossOriginIsolated} JSPI=${!!WebAssembly.Suspending} ` +
      `hardwareConcurrency=${navigator.hardwareConcurrency} libllama=${Wllama.getLibllamaVersion()}`
  );

  // Cold load: model download over localhost + wasm compile + worker / pthread start + model load.
  const tLoad0 = performance.now();
  const wllama = new Wllama({ default: wasmUrl }, { logger: makeLogger(verbose), suppressNativeLog: false });
  // The compat build (for browsers without JSPI / memory64) only exists on a CDN; never use it.
  wllama.setCompat(null);
  const res = await fetch(modelUrl);
  if (!res.ok) throw new Error(`fetching the model failed: HTTP ${res.status}`);
  const blob = await res.blob();
  const fetchS = (performance.now() - tLoad0) / 1000;
  await wllama.loadModel([blob], {
    n_threads: threads,
    n_ctx: nCtx,
    n_batch: nBatch,
    n_ubatch: nBatch,
    n_parallel: 1,
    n_gpu_layers: 0,
    seed: 0,
    log_level: LogLevel.INFO,
  });
  const loadS = (performance.now() - tLoad0) / 1000;

  const info = wllama.getLoadedContextInfo();
  if (info.success === false || !info.n_vocab) throw new Error('wllama could not load the model (see its log above)');

  // The prompt goes in as text (see wllama.mjs); llama-server adds BOS itself when the model wants it.
  let promptText = prompt.text;
  let warmText = prompt.warmText;
  const addBos = wllama.mustAddBosToken();
  if (addBos) {
    if (!prompt.leadingBos) throw new Error(`the model adds BOS (${wllama.getBOS()}) to every prompt but the prompt ids do not start with it`);
    promptText = prompt.textAfterBos;
    if (warmText.startsWith(prompt.bosText)) warmText = warmText.slice(prompt.bosText.length);
  }

  const mtLog = findLog(/Multithread enabled: (true|false), pthreadPoolSize: (\d+)/);
  const poolSize = mtLog ? Number(mtLog[2]) : null;
  const multithread = wllama.isMultithread() && self.crossOriginIsolated && (poolSize === null || poolSize > 1);
  const fa = findLog(/Flash Attention (enabled|disabled)/);
  const common = {
    multithread,
    n_threads_used: wllama.getNumThreads(),
    pthread_pool_size: poolSize,
    cross_origin_isolated: self.crossOriginIsolated,
    jspi: !!WebAssembly.Suspending,
    libllama: Wllama.getLibllamaVersion(),
    n_ctx: info.n_ctx,
    n_batch: info.n_batch,
    n_ubatch: info.n_ubatch,
    n_vocab: info.n_vocab,
    flash_attn: fa ? fa[1] === 'enabled' : null,
    add_bos: addBos,
    prompt_input: 'text',
    user_agent: navigator.userAgent,
  };
  if (threads > 1 && !multithread) {
    console.warn(`page: asked for ${threads} threads but wllama runs single-threaded (multithread=false)`);
  }
  console.log(`page: loaded in ${loadS.toFixed(2)} s (fetch ${fetchS.toFixed(2)} s), n_ctx=${info.n_ctx} n_batch=${info.n_batch} multithread=${multithread} threads=${common.n_threads_used}`);

  // Warm-up (first-touch allocations, graph reservation for both batch shapes), not timed.
  const warm = await generate(wllama, warmText, 4);
  // Its prompt is a cut of the real one, which need not re-tokenize to the same count: not checked.
  check('warm-up', warm, null, 4);
  console.log(`page: warm-up done (${warm.timings.prompt_n} prompt tokens, ${warm.ids.length} generated)`);

  for (let run = 0; run < runs; run++) {
    // Sampling `newTokens + 1` tokens gives `newTokens` single-token decode steps after the
    // first token (which comes out of the prefill), as in the llama.cpp peer.
    const g = await generate(wllama, promptText, newTokens + 1, run);
    check(`run ${run}`, g, ids.length, newTokens + 1);
    const complete = g.ids.length === newTokens + 1;
    if (!complete) {
      console.warn(`page: run ${run}: saw ${g.ids.length} token ids, expected ${newTokens + 1} (a token that ends inside a UTF-8 character is not streamed on its own)`);
    }
    // Prefill / decode times are wllama's own (llama-server's slot timings, taken in the worker):
    // prompt_ms runs from the start of prompt processing to the first sampled token,
    // predicted_ms from there to the last one, i.e. over `newTokens` decode steps. They are
    // used because wllama streams each token one loop iteration late: a token's chunk reaches
    // the page only after the next decode step ran, so page-side clocks are off by one step.
    // ttft_s is what the page sees: request to first token chunk (prefill + one decode step +
    // message passing).
    const prefillS = g.timings.prompt_ms / 1000;
    const decodeS = g.timings.predicted_ms / 1000;
    const ttftS = (g.tFirst - g.t0) / 1000;
    await emit({
      run,
      load_s: loadS,
      prompt_tokens: ids.length,
      new_tokens: newTokens,
      prefill_s: prefillS,
      decode_s: decodeS,
      prefill_tok_s: ids.length / prefillS,
      decode_tok_s: newTokens / decodeS,
      ttft_s: ttftS,
      first_tokens: g.ids.slice(0, 16),
      request_s: (g.tDone - g.t0) / 1000,
      fetch_s: fetchS,
      ids_complete: complete,
      ...common,
    });
  }
  await wllama.exit();
  return { ok: true };
};

window.benchPageReady = true;
