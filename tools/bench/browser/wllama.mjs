#!/usr/bin/env node
// wllama peer of `cargo xtask bench` (see README.md): runs @wllama/wllama (llama.cpp compiled to
// wasm) in headless Chromium on the CPU, prefills the prompt in one batch and decodes greedily.
// wllama 3.x only takes text prompts, so the ids go in as their exact text and the page checks
// that wllama's tokenization gives back as many tokens. Prints one JSON object per run on stdout;
// everything else goes to stderr.
//
//   node wllama.mjs --model M.gguf --prompt prompt.json --new-tokens 128 --runs 3 --threads 2

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
const PAGE_DIR = path.join(HERE, 'page');
const WLLAMA_DIR = path.join(HERE, 'node_modules', '@wllama', 'wllama');
const WLLAMA_ESM_DIR = path.join(WLLAMA_DIR, 'esm');

const USAGE = `usage: node wllama.mjs --model PATH.gguf --prompt PROMPT.json [options]

  --model PATH         GGUF model file (required)
  --prompt PATH        JSON file with {"ids": [token ids]} (required; other keys are ignored)
  --new-tokens N       greedy tokens to decode per run (default 128)
  --runs N             timed runs (default 1)
  --threads N          wllama n_threads; 1 = single-thread, >1 = multi-thread build (default 1)
  --warmup-tokens N    prompt tokens of the untimed warm-up request (default 64)
  --chromium PATH      Chromium binary (default $CHROMIUM or /usr/bin/chromium)
  --timeout S          give up after S seconds in all (default 3600)
  --verbose            pass Chromium's stderr and wllama's native log through to stderr
  -h, --help           this text`;

const NAME = 'wllama-bench';
const log = makeLog(NAME);

function parseCli(argv) {
  const values = parseCliValues(
    argv,
    {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'new-tokens': { type: 'string', default: '128' },
      runs: { type: 'string', default: '1' },
      threads: { type: 'string', default: '1' },
      'warmup-tokens': { type: 'string', default: '64' },
      chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
      timeout: { type: 'string', default: '3600' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE
  );
  const posInt = (name, min = 1) => posIntOption(values, name, min);
  if (!values.model) throw new UsageError('--model is required');
  if (!values.prompt) throw new UsageError('--prompt is required');
  return {
    model: path.resolve(values.model),
    prompt: path.resolve(values.prompt),
    newTokens: posInt('new-tokens'),
    runs: posInt('runs'),
    threads: posInt('threads'),
    warmupTokens: posInt('warmup-tokens'),
    chromium: values.chromium,
    timeoutS: posInt('timeout'),
    verbose: values.verbose,
  };
}

function checkInputs(opts) {
  checkModelFile(opts.model);
  checkChromium(opts.chromium);
  for (const f of ['index.js', path.join('wasm', 'wllama.wasm')]) {
    if (!fs.existsSync(path.join(WLLAMA_ESM_DIR, f))) {
      throw new Error(`@wllama/wllama is not installed (${path.join(WLLAMA_ESM_DIR, f)} missing); run \`npm ci\` in ${HERE}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Prompt text (the GGUF vocabulary and the detokenizer are in common.mjs). wllama 3.x takes
// prompts as text only (its completion request's `prompt` must be a string; there is no token-id
// input any more), so the ids are turned back into the exact bytes their tokens stand for and
// wllama tokenizes that text again (with special-token parsing). The page then checks that this
// gives back as many tokens as given.

function promptTexts(modelPath, ids, warmupTokens) {
  const vocab = readGgufVocab(modelPath);
  const detok = detokenizer(vocab);
  const text = detok(ids);
  if (text === null) throw new Error('the prompt ids do not decode to valid UTF-8 text, so they cannot be given to wllama 3.x (text-only prompts)');
  const leadingBos = Number.isInteger(vocab.bos) && ids[0] === vocab.bos;
  // For the warm-up any prefix that is valid text will do.
  let warmTokens = Math.min(warmupTokens, ids.length);
  let warmText = null;
  while (warmTokens > 0 && (warmText = detok(ids.slice(0, warmTokens))) === null) warmTokens--;
  if (warmText === null) [warmText, warmTokens] = [text, ids.length];
  return {
    text,
    textAfterBos: leadingBos ? detok(ids.slice(1)) : null,
    bos: Number.isInteger(vocab.bos) ? vocab.bos : null,
    bosText: Number.isInteger(vocab.bos) ? detok([vocab.bos]) ?? '' : '',
    leadingBos,
    warmText,
    warmTokens,
  };
}

// ---------------------------------------------------------------------------------------------
// Static server (node:http only). COOP + COEP make the page cross-origin isolated, which is what
// SharedArrayBuffer and thus wllama's pthreads need.

function startServer(modelPath, verbose) {
  const route = (urlPath) => {
    if (urlPath === '/' || urlPath === '/index.html') return path.join(PAGE_DIR, 'index.html');
    if (urlPath === '/bench-page.mjs') return path.join(PAGE_DIR, 'bench-page.mjs');
    if (urlPath === '/model.gguf') return modelPath;
    if (urlPath === '/favicon.ico') return 'favicon';
    if (urlPath.startsWith('/wllama/')) return resolveUnder(WLLAMA_ESM_DIR, urlPath.slice('/wllama/'.length));
    return null;
  };
  const headers = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  return startStaticServer({ route, headers, verbose, log });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseCli(process.argv.slice(2));
  checkInputs(opts);
  const ids = readPromptIds(opts.prompt);
  const prompt = promptTexts(opts.model, ids, opts.warmupTokens);
  const wllamaVersion = JSON.parse(fs.readFileSync(path.join(WLLAMA_DIR, 'package.json'), 'utf8')).version;
  const peer = `wllama-${opts.threads}t`;

  const { chromium } = await import('playwright-core');

  await runSession({ name: NAME, log, timeoutS: opts.timeoutS }, async (session) => {
    session.server = await startServer(opts.model, opts.verbose);
    const origin = `http://127.0.0.1:${session.server.address().port}`;
    log(`serving on ${origin}`);

    const { context, chromiumVersion } = await startBrowser(session, {
      chromium,
      binary: opts.chromium,
      verbose: opts.verbose,
      log,
      profilePrefix: 'wllama-bench-chromium-',
    });
    const chrome = session.chrome;
    const page = await context.newPage();
    const watch = watchPage(page, { verbose: opts.verbose, log });
    const pageDied = watch.died;

    const marks = new Map();
    await page.exposeBinding('__benchMark', (_src, run, name) => {
      if (!marks.has(run)) marks.set(run, {});
      marks.get(run)[name] = treeCpuSeconds(chrome.child.pid);
    });
    await page.exposeBinding('__benchEmit', (_src, r) => {
      const m = marks.get(r.run) || {};
      const endCpu = m.end ?? treeCpuSeconds(chrome.child.pid);
      const { run, load_s, prompt_tokens, new_tokens, prefill_s, decode_s, prefill_tok_s, decode_tok_s, ttft_s, first_tokens, user_agent, multithread, ...extra } = r;
      const line = {
        peer,
        run,
        version: wllamaVersion,
        threads: opts.threads,
        multithread,
        load_s,
        prompt_tokens,
        new_tokens,
        prefill_s,
        decode_s,
        prefill_tok_s,
        decode_tok_s,
        ttft_s,
        first_tokens,
        user_agent,
        prefill_cpu_s: cpuDelta(m.start, m.first),
        decode_cpu_s: cpuDelta(m.first, endCpu),
        chromium_version: chromiumVersion,
        ...extra,
        host_cpus: os.cpus().length,
        host_loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100,
      };
      process.stdout.write(JSON.stringify(line) + '\n');
      const busy = line.prefill_cpu_s == null ? null : line.prefill_cpu_s / prefill_s;
      if (opts.threads > 1 && busy !== null && busy < 0.65 * opts.threads) {
        log(`warning: Chromium used ${busy.toFixed(2)} CPUs during the prefill with ${opts.threads} threads (load average ${line.host_loadavg_1m} on ${line.host_cpus} CPUs): its threads were starved, the numbers are not representative`);
      }
      log(`${peer} run ${run}: prefill ${prefill_tok_s.toFixed(2)} tok/s (${prefill_s.toFixed(2)} s), decode ${decode_tok_s.toFixed(2)} tok/s (${decode_s.toFixed(2)} s), load ${load_s.toFixed(2)} s, multithread=${multithread}`);
    });

    await page.goto(`${origin}/`, { waitUntil: 'load' });
    try {
      await page.waitForFunction(() => window.benchPageReady === true, null, { timeout: 30000 });
    } catch (e) {
      throw new Error(`bench page did not start: ${watch.failure() ? watch.failure().message : firstLine(e)}`);
    }
    const pageOpts = {
      ids,
      prompt,
      newTokens: opts.newTokens,
      runs: opts.runs,
      threads: opts.threads,
      modelUrl: `${origin}/model.gguf`,
      wasmUrl: `${origin}/wllama/wasm/wllama.wasm`,
      verbose: opts.verbose,
    };
    log(`${peer}: ${ids.length} prompt tokens, ${opts.newTokens} new tokens, ${opts.runs} run(s), Chromium ${chromiumVersion}`);
    try {
      await Promise.race([page.evaluate((o) => window.runBench(o), pageOpts), pageDied]);
    } catch (e) {
      throw new Error(`wllama failed: ${firstLine(e).replace(/^page\.evaluate: /, '')}`);
    }
  });
}

runMain(main, { name: NAME, log });
