// Pieces shared by the in-browser bench peers (wllama.mjs, ours-page.mjs; see README.md): CLI
// helpers, the prompt file, the GGUF vocabulary and id -> text detokenization, a node:http static
// server, Chromium launched by hand and attached to over CDP with playwright-core, CPU accounting
// from /proc, and the session / cleanup / exit-status frame around it all.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const makeLog = (tag) => (...args) => console.error(`[${tag}]`, ...args);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref?.());

export const firstLine = (e) => String(e?.message ?? e).split('\n').find((l) => l.trim()) ?? String(e);

// Set by the signal handlers of `runSession`; `runMain` then leaves the reporting to them.
let interruptedBy = null;

// ---------------------------------------------------------------------------------------------
// CLI

/** node:util parseArgs (strict); --help prints `usage` and exits 0; bad flags are UsageErrors. */
export function parseCliValues(argv, options, usage) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (values.help) {
    console.error(usage);
    process.exit(0);
  }
  return values;
}

export function posIntOption(values, name, min = 1) {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${values[name]}`);
  return v;
}

export function readPromptIds(file) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read prompt file ${file}: ${e.message}`);
  }
  const ids = data?.ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`prompt file ${file} must hold {"ids": [non-negative integer token ids, ...]}`);
  }
  return ids;
}

export function checkModelFile(file) {
  let st;
  try {
    st = fs.statSync(file);
  } catch {
    throw new Error(`model file not found: ${file}`);
  }
  if (!st.isFile() || st.size === 0) throw new Error(`model file is empty or not a file: ${file}`);
}

export function checkChromium(binary) {
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${binary} (install Debian's chromium package, or pass --chromium PATH / set CHROMIUM)`);
  }
}

// ---------------------------------------------------------------------------------------------
// GGUF vocabulary and detokenization: the ids turned back into the exact bytes their tokens
// stand for (GPT-2 byte-level BPE; control and user-defined tokens as their text).

export function readGgufVocab(file) {
  const fd = fs.openSync(file, 'r');
  let buf = Buffer.alloc(0);
  let base = 0; // file offset of buf[0]
  let pos = 0; // file offset of the next byte to read
  const need = (n) => {
    if (pos + n <= base + buf.length) return;
    const keep = buf.subarray(pos - base);
    const chunk = Buffer.alloc(Math.max(n, 1 << 20));
    const got = fs.readSync(fd, chunk, 0, chunk.length, base + buf.length);
    if (keep.length + got < n) throw new Error('unexpected end of file');
    buf = Buffer.concat([keep, chunk.subarray(0, got)]);
    base = pos;
  };
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4 - base));
  const u64 = () => (need(8), (pos += 8), Number(buf.readBigUInt64LE(pos - 8 - base)));
  const str = () => {
    const n = u64();
    need(n);
    pos += n;
    return buf.toString('utf8', pos - n - base, pos - base);
  };
  const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const scalar = (type) => {
    if (type === 8) return str();
    const n = SIZES[type];
    if (!n) throw new Error(`unknown GGUF value type ${type}`);
    need(n);
    pos += n;
    const o = pos - n - base;
    switch (type) {
      case 0: return buf.readUInt8(o);
      case 1: return buf.readInt8(o);
      case 2: return buf.readUInt16LE(o);
      case 3: return buf.readInt16LE(o);
      case 4: return buf.readUInt32LE(o);
      case 5: return buf.readInt32LE(o);
      case 6: return buf.readFloatLE(o);
      case 7: return buf.readUInt8(o) !== 0;
      case 10: return Number(buf.readBigUInt64LE(o));
      case 11: return Number(buf.readBigInt64LE(o));
      case 12: return buf.readDoubleLE(o);
    }
  };
  const value = (type) => {
    if (type !== 9) return scalar(type);
    const itemType = u32();
    const n = u64();
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = value(itemType);
    return out;
  };
  try {
    need(4);
    if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error('not a GGUF file (bad magic)');
    pos = 4;
    const version = u32();
    if (version < 2) throw new Error(`GGUF version ${version} not supported`);
    u64(); // tensor count
    const nKv = u64();
    const kv = {};
    for (let i = 0; i < nKv; i++) {
      const key = str();
      const type = u32();
      const keep =
        (key.startsWith('tokenizer.ggml.') && !key.endsWith('.merges') && !key.endsWith('.scores')) ||
        key === 'tokenizer.chat_template';
      const v = value(type);
      if (keep) kv[key] = v;
    }
    return {
      model: kv['tokenizer.ggml.model'],
      tokens: kv['tokenizer.ggml.tokens'],
      types: kv['tokenizer.ggml.token_type'],
      bos: kv['tokenizer.ggml.bos_token_id'],
      chatTemplate: kv['tokenizer.chat_template'],
    };
  } catch (e) {
    throw new Error(`cannot read the vocabulary of ${file}: ${e.message}`);
  } finally {
    fs.closeSync(fd);
  }
}

// GPT-2 byte-level BPE: every byte is written as one printable code point.
export function gpt2UnicodeToByte() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(cs.map((c, i) => [String.fromCodePoint(c), bs[i]]));
}

/** ids -> text; the function returns null where the bytes are not valid UTF-8. */
export function detokenizer(vocab) {
  if (vocab.model !== 'gpt2') {
    throw new Error(`only byte-level BPE ("gpt2") GGUF vocabularies are supported, this one is "${vocab.model}"`);
  }
  const toByte = gpt2UnicodeToByte();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
  const pieceBytes = (id) => {
    const tok = vocab.tokens[id];
    if (tok === undefined) throw new Error(`token id ${id} is outside the vocabulary (${vocab.tokens.length} tokens)`);
    const type = vocab.types?.[id] ?? 1;
    if (type === 3 || type === 4) return Buffer.from(tok, 'utf8');
    const out = [];
    for (const ch of tok) {
      const b = toByte.get(ch);
      if (b === undefined) return Buffer.from(tok, 'utf8');
      out.push(b);
    }
    return Buffer.from(out);
  };
  // Returns the text, or null where the bytes are not valid UTF-8 (a string cannot carry them).
  return (ids) => {
    try {
      return decoder.decode(Buffer.concat(ids.map(pieceBytes)));
    } catch (e) {
      if (e instanceof TypeError) return null;
      throw e;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Static server (node:http only).

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.gguf': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

/** `root`/`rel` if it stays inside `root` (no `..` escapes), else null. */
export function resolveUnder(root, rel) {
  const p = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  return p.startsWith(root + path.sep) ? p : null;
}

/**
 * Serves GET / HEAD on 127.0.0.1, ephemeral port. `route(urlPath)` maps a decoded URL path to a
 * file, to 'favicon' (answered 204) or to null (404); every response carries `headers`.
 */
export function startStaticServer({ route, headers, verbose, log }) {
  const server = http.createServer((req, res) => {
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      urlPath = null;
    }
    const file = urlPath && route(urlPath);
    let st = null;
    if (file) {
      try {
        st = fs.statSync(file);
      } catch {}
    }
    if (verbose) log(`http ${req.method} ${req.url} -> ${st?.isFile() ? 200 : 404}`);
    if (file === 'favicon') {
      res.writeHead(204, headers).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!st || !st.isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Content-Length': st.size,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---------------------------------------------------------------------------------------------
// Chromium, launched by hand (not through playwright's launcher) and attached to over CDP.

export const CHROMIUM_FLAGS = (userDataDir) => [
  '--headless',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  `--user-data-dir=${userDataDir}`,
  '--remote-debugging-port=0',
];

export function launchChromium(binary, userDataDir, verbose, extraFlags = []) {
  // detached: Chromium leads its own process group, so the whole tree can be signalled at once.
  const child = spawn(binary, [...CHROMIUM_FLAGS(userDataDir), ...extraFlags], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const tail = [];
  let buf = '';
  let resolveWs;
  const wsFromStderr = new Promise((r) => (resolveWs = r));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (verbose) console.error(`[chromium] ${line}`);
      const m = line.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) resolveWs(m[1]);
    }
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const spawnError = new Promise((_, reject) => child.once('error', (e) => reject(new Error(`cannot start Chromium (${binary}): ${e.message}`))));
  spawnError.catch(() => {});
  return { child, tail, wsFromStderr, exited, spawnError };
}

export async function devtoolsEndpoint(chrome, userDataDir, timeoutMs) {
  const portFile = path.join(userDataDir, 'DevToolsActivePort');
  const fromFile = (async () => {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      try {
        const [port, wsPath] = fs.readFileSync(portFile, 'utf8').split('\n');
        if (/^\d+$/.test(port) && wsPath) return `ws://127.0.0.1:${port}${wsPath.trim()}`;
      } catch {}
      await sleep(100);
    }
    return null;
  })();
  const died = chrome.exited.then(({ code, signal }) => {
    throw new Error(`Chromium exited before DevTools was ready (code ${code}, signal ${signal}); stderr:\n${chrome.tail.join('\n')}`);
  });
  const timeout = sleep(timeoutMs).then(() => {
    throw new Error(`no DevTools endpoint from Chromium after ${timeoutMs / 1000} s; stderr:\n${chrome.tail.join('\n')}`);
  });
  const ws = await Promise.race([chrome.wsFromStderr, fromFile.then((w) => w ?? new Promise(() => {})), died, timeout, chrome.spawnError]);
  return ws;
}

export async function killChromium(chrome) {
  if (!chrome?.child?.pid) return;
  const pgid = chrome.child.pid;
  const signalGroup = (sig) => {
    try {
      process.kill(-pgid, sig);
    } catch {}
  };
  // Renderer / zygote / crashpad children can outlive the browser process for a moment, so wait
  // until nothing (but zombies) is left in Chromium's process group before the profile is removed.
  const waitGroupGone = async (ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (groupMembers(pgid) === 0) return true;
      await sleep(100);
    }
    return groupMembers(pgid) === 0;
  };
  signalGroup('SIGTERM');
  if (!(await waitGroupGone(5000))) {
    signalGroup('SIGKILL');
    await waitGroupGone(3000);
  }
  await Promise.race([chrome.exited, sleep(1000)]);
}

// Live (non-zombie) processes whose process group is `pgid`.
export function groupMembers(pgid) {
  if (process.platform !== 'linux') return 0;
  let n = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state), rest[2] field 5 (pgrp).
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') n++;
    } catch {}
  }
  return n;
}

/**
 * Makes a fresh profile, launches Chromium with CHROMIUM_FLAGS + `extraFlags` and attaches
 * playwright-core's `chromium` (from `await import('playwright-core')`) over CDP; fills `session.userDataDir`, `.chrome` and `.browser` as it goes so
 * that `runSession`'s cleanup finds them whatever fails.
 */
export async function startBrowser(session, { chromium, binary, verbose, log, profilePrefix, extraFlags = [] }) {
  session.userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), profilePrefix));
  session.chrome = launchChromium(binary, session.userDataDir, verbose, extraFlags);
  const ws = await devtoolsEndpoint(session.chrome, session.userDataDir, 60000);
  log(`Chromium pid ${session.chrome.child.pid}, DevTools at ${ws}`);
  session.browser = await chromium.connectOverCDP(ws, { timeout: 60000 });
  const chromiumVersion = session.browser.version();
  const context = session.browser.contexts()[0] ?? (await session.browser.newContext());
  return { browser: session.browser, context, chromiumVersion };
}

/**
 * Console, page errors, crash and close of a tab. Console messages go to stderr with --verbose,
 * else only errors, warnings and `page:`-prefixed lines. `died` rejects on a crash or close;
 * `failure()` is the first uncaught page error, if any.
 */
export function watchPage(page, { verbose, log }) {
  let pageFailure = null;
  let rejectPage;
  const died = new Promise((_, reject) => (rejectPage = reject));
  died.catch(() => {});
  page.on('console', (msg) => {
    const type = msg.type();
    const text = msg.text();
    if (verbose || type === 'error' || type === 'warning' || text.startsWith('page:')) {
      console.error(`[page ${type}] ${text}`);
    }
  });
  page.on('pageerror', (err) => {
    log(`page error: ${err.message}`);
    pageFailure ??= err;
  });
  page.on('crash', () => rejectPage(new Error('the Chromium tab crashed (out of memory?)')));
  page.on('close', () => rejectPage(new Error('the Chromium tab closed unexpectedly')));
  return { died, failure: () => pageFailure };
}

// ---------------------------------------------------------------------------------------------
// CPU seconds (user + system) of Chromium's process tree, from /proc, like the llama.cpp peer's
// prefill_cpu_s / decode_cpu_s. With N busy threads the ratio cpu_s / s comes out near N.

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}

export function treeCpuSeconds(rootPid) {
  if (!rootPid || process.platform !== 'linux') return null;
  const stats = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
      stats.set(Number(name), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {}
  }
  const children = new Map();
  for (const [pid, { ppid }] of stats) {
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  let ticks = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const st = stats.get(pid);
    if (!st) continue;
    ticks += st.ticks;
    stack.push(...(children.get(pid) || []));
  }
  return ticks / clkTck;
}

/** CPU seconds between two readings, rounded to ms; null if either is missing. */
export const cpuDelta = (a, b) => (a == null || b == null ? null : Math.round((b - a) * 1000) / 1000);

// ---------------------------------------------------------------------------------------------
// Session frame: one cleanup (browser, Chromium's process group, server, profile) shared by the
// normal end, errors, the overall timeout and SIGINT/SIGTERM/SIGHUP.

/**
 * Runs `work(session)`; `session.server`, `.chrome`, `.browser`, `.userDataDir` are what the
 * cleanup takes down. `name` is the error prefix ("wllama-bench").
 */
export async function runSession({ name, log, timeoutS }, work) {
  const session = { server: null, chrome: null, browser: null, userDataDir: null };
  let cleaning = null;
  // Idempotent: the signal handlers, the error path and the normal end all share one cleanup.
  const cleanup = () =>
    (cleaning ??= (async () => {
      try {
        await Promise.race([session.browser?.close(), sleep(3000)]);
      } catch {}
      await killChromium(session.chrome);
      if (session.server) {
        session.server.closeAllConnections?.();
        session.server.close();
      }
      if (session.userDataDir) {
        try {
          fs.rmSync(session.userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
        } catch (e) {
          log(`could not remove ${session.userDataDir}: ${e.message}`);
        }
      }
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      interruptedBy = sig;
      log(`got ${sig}, cleaning up`);
      cleanup().finally(() => {
        console.error(`${name}: error: interrupted by ${sig}`);
        process.exit(128 + (os.constants.signals[sig] || 1));
      });
    });
  }

  let failWithTimeout;
  const timeout = new Promise((_, reject) => (failWithTimeout = reject));
  const timer = setTimeout(() => failWithTimeout(new Error(`timed out after ${timeoutS} s`)), timeoutS * 1000);

  try {
    await Promise.race([work(session), timeout]);
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
}

/** Exit status 0, or the last stderr line `<name>: error: ...` and 1 (2 for UsageError). */
export function runMain(main, { name, log }) {
  main().then(
    () => process.exit(0),
    (e) => {
      if (interruptedBy) return; // the signal handler reports and exits once cleanup is done
      const msg = String(e?.message ?? e);
      if (msg.trim().includes('\n')) log(msg);
      console.error(`${name}: error: ${firstLine(e)}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    }
  );
}
