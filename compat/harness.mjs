// The compatibility suite's world: a real Sluice process on 127.0.0.1 with a fresh dev vault, a real
// TLS destination it trusts, and SDK clients pointed at it. Each test file starts its own.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { BasisTheoryClient, BasisTheoryError } from '@basis-theory/node-sdk';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

// A list that still has pages after this many is a server ignoring `page`/`start`: the SDK
// would loop forever, so the suite fails instead.
export const MAX_PAGES = 50;

// sluiceBinary is $SLUICE_BIN (make test-compat builds it once) or a build into compat/.build.
function sluiceBinary() {
  if (process.env.SLUICE_BIN) return process.env.SLUICE_BIN;
  const out = join(repoRoot, 'compat', '.build', 'sluice');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('go', ['build', '-o', out, '.'], { cwd: repoRoot, stdio: 'inherit' });
  process.env.SLUICE_BIN = out;
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// selfSignedCert makes a certificate for localhost and 127.0.0.1 with the generator that ships
// with Go (the one tool the repo already needs). It is its own CA, so the edge trusts it via
// --destination-ca-file.
function selfSignedCert(dir) {
  const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  const gen = join(goroot, 'src', 'crypto', 'tls', 'generate_cert.go');
  execFileSync('go', ['run', gen, '-host', 'localhost,127.0.0.1', '-ca', '-ecdsa-curve', 'P256', '-duration', '2h'],
    { cwd: dir, stdio: 'pipe' });
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), caFile: join(dir, 'cert.pem') };
}

// startDestination is an HTTPS server on 127.0.0.1 that records every request and answers with
// respond(req, body) → {status, headers, body} (default, and after setResponder(null): a JSON
// echo of the request).
async function startDestination(tls) {
  const received = [];
  const echo = (req, body) => ({ status: 200, body: JSON.stringify({ method: req.method, path: req.url, body }) });
  let respond = echo;
  const srv = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method, path: req.url, headers: req.headers, body });
      const out = respond(req, body);
      res.writeHead(out.status, { 'content-type': 'application/json', ...(out.headers || {}) });
      res.end(out.body);
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${srv.address().port}`,
    received,
    setResponder(fn) { respond = fn || echo; },
    close: () => new Promise((resolve) => { srv.closeAllConnections?.(); srv.close(() => resolve()); }),
  };
}

// startSluice runs `sluice serve --dev` on free loopback ports with a temp data dir and a
// destination it may reach, waits for /readyz, and reads the dev admin key it wrote.
export async function startSluice() {
  const bin = sluiceBinary();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-compat-'));
  const dataDir = join(dir, 'data');
  const tls = selfSignedCert(dir);
  const dest = await startDestination(tls);
  const [port, adminPort] = [await freePort(), await freePort()];
  const args = ['serve', '--dev', '--data-dir', dataDir,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`,
    '--allow-private-destinations', '--destination-ca-file', tls.caFile];
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SLUICE_')) delete env[k];
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (c) => { output += c; });
  proc.stderr.on('data', (c) => { output += c; });
  let exited = null;
  const exit = new Promise((resolve) => proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(); }));

  const stop = async () => {
    await dest.close();
    if (!exited) {
      proc.kill('SIGTERM');
      let timer;
      await Promise.race([exit, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
      clearTimeout(timer); // a pending timer would keep the test process alive
      if (!exited) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(`http://127.0.0.1:${adminPort}/readyz`, () => exited, () => output);
    const keyFile = join(dataDir, 'dev-admin.key');
    assert.ok(existsSync(keyFile), `no ${keyFile}:\n${output}`);
    const adminKey = readFileSync(keyFile, 'utf8').trim();
    const baseUrl = `http://127.0.0.1:${port}`;
    return {
      baseUrl,
      adminKey,
      dest,
      admin: client(baseUrl, adminKey),
      client: (apiKey) => client(baseUrl, apiKey),
      output: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// waitReady polls the admin listener's /readyz until 200, the process exits, or 30 s pass.
async function waitReady(url, exited, output) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited()) throw new Error(`sluice exited before ready (${JSON.stringify(exited())}):\n${output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`sluice not ready after 30 s:\n${output()}`);
    await sleep(50);
  }
}

// client is the SDK as a BT user configures it, with no retries so every call is one request.
function client(baseUrl, apiKey) {
  return new BasisTheoryClient({ apiKey, environment: baseUrl, maxRetries: 0, timeoutInSeconds: 30 });
}

// pageAll follows an SDK page to its end and returns every item. It fails instead of looping when
// a page only repeats items already seen or the pages never end (a server ignoring `page` or
// `start`), and when a page holds more than pageSize items.
export async function pageAll(firstPage, pageSize) {
  const items = [];
  const seen = new Set();
  let page = await firstPage;
  for (let n = 1; ; n++) {
    assert.ok(page.data.length <= pageSize, `page ${n} holds ${page.data.length} items, more than size=${pageSize}`);
    const fresh = page.data.filter((it) => !seen.has(it.id));
    assert.ok(n === 1 || page.data.length === 0 || fresh.length > 0,
      `page ${n} repeats only items of earlier pages: the server ignores the page cursor`);
    for (const it of page.data) seen.add(it.id);
    items.push(...page.data);
    if (!page.hasNextPage()) return { items, pages: n };
    assert.ok(n < MAX_PAGES, `still more pages after ${MAX_PAGES} (${items.length} items): the server ignores the page cursor`);
    page = await page.getNextPage();
  }
}

// rejectsWith asserts that promise fails with the SDK error class errorClass and HTTP status.
export async function rejectsWith(promise, errorClass, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof BasisTheoryError, `not a BasisTheoryError: ${err}`);
    assert.equal(err.statusCode, status, `status ${err.statusCode}, want ${status}: ${JSON.stringify(err.body)}`);
    assert.ok(err instanceof errorClass, `${err.constructor.name}, want ${errorClass.name}`);
    return true;
  });
}

// unique names this run's items so filters and assertions see only them.
export const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// wasmModule is the smallest module exporting memory and one () -> i32 entry point that returns 0
// (continue), for `code` transforms and reactors.
export function wasmModule(entry) {
  const name = Buffer.from(entry, 'utf8');
  const str = (b) => [b.length, ...b];
  const section = (id, bytes) => [id, bytes.length, ...bytes];
  const exports = [2, ...str(Buffer.from('memory')), 0x02, 0, ...str(name), 0x00, 0];
  return Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 0, 1, 0x7f]), // type 0: () -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, 1]), // one memory, 1 page
    ...section(7, exports),
    ...section(10, [1, 4, 0, 0x41, 0, 0x0b]), // i32.const 0; end
  ]);
}

// softly collects assertion failures and reports them all at done(), so one run lists every
// field a shape gets wrong rather than the first.
export function softly() {
  const problems = [];
  const soft = {};
  for (const name of ['equal', 'notEqual', 'deepEqual', 'ok', 'match']) {
    soft[name] = (...args) => {
      try { assert[name](...args); } catch (err) { problems.push(err.message.split('\n')[0]); }
    };
  }
  soft.done = () => { if (problems.length) assert.fail(problems.join('; ')); };
  return soft;
}
