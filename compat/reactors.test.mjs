// reactors through @basis-theory/node-sdk against a real Sluice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BasisTheory, BasisTheoryError } from '@basis-theory/node-sdk';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSluice, pageAll, rejectsWith, unique, softly, wasmModule } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

// The smallest reactor: exports sluice_on_react and returns 0 with no result.
const code = wasmModule('sluice_on_react').toString('base64');

async function newReactor(extra = {}) {
  return s.admin.reactors.create({ name: unique('reactor'), code, configuration: { MODE: 'test' }, ...extra });
}

test('reactors.create takes a base64 module and answers BT\'s reactor shape', async () => {
  const soft = softly();
  const r = await newReactor();
  assert.equal(typeof r.id, 'string');
  soft.equal(r.state, 'active', 'state');
  soft.equal(typeof r.tenantId, 'string', 'tenant_id missing');
  soft.equal(typeof r.createdBy, 'string', 'created_by missing');
  soft.ok(r.createdAt instanceof Date && !isNaN(r.createdAt), 'created_at is not a date');
  soft.deepEqual(r.configuration, { MODE: 'test' }, 'configuration');
  // A module without sluice_on_react is refused. This SDK's reactors.create maps no 422 to its own
  // class (only 400, 401 and 403): the status is what a user can check.
  await rejectsWith(s.admin.reactors.create({ name: unique('bad'), code: wasmModule('sluice_on_request').toString('base64') }),
    BasisTheoryError, 422);
  soft.done();
});

test('reactors.react runs the module and answers tokens and raw', async () => {
  const r = await newReactor();
  const tok = await s.admin.tokens.create({ type: 'token', data: 'react-secret' });
  const out = await s.admin.reactors.react(r.id, { args: { value: `{{ ${tok.id} }}` } });
  assert.equal(typeof out, 'object');
  assert.ok(!JSON.stringify(out).includes('react-secret'), 'the caller never sees the detokenized args');
  await rejectsWith(s.admin.reactors.react('00000000-0000-4000-8000-000000000000', { args: {} }), BasisTheory.NotFoundError, 404);
});

test('reactors.list pages to the end', async () => {
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push((await newReactor()).id);
  const size = 5;
  const { items } = await pageAll(s.admin.reactors.list({ size }), size);
  const got = items.map((r) => r.id);
  assert.equal(new Set(got).size, got.length, 'no reactor twice');
  for (const id of ids) assert.ok(got.includes(id), `reactor ${id} missing from the pages`);
});

test('reactors.get returns the reactor', async () => {
  const r = await newReactor();
  const got = await s.admin.reactors.get(r.id);
  assert.equal(got.id, r.id);
  assert.equal(got.name, r.name);
  assert.deepEqual(got.configuration, { MODE: 'test' });
});

test('reactors.update replaces the reactor', async () => {
  const r = await newReactor();
  const name = unique('put');
  const up = await s.admin.reactors.update(r.id, { name, code, configuration: { MODE: 'live' } });
  assert.equal(up.name, name);
  assert.deepEqual((await s.admin.reactors.get(r.id)).configuration, { MODE: 'live' });
});

test('reactors.patch merges the named fields only', async () => {
  const r = await newReactor();
  const name = unique('patched');
  await s.admin.reactors.patch(r.id, { name });
  const got = await s.admin.reactors.get(r.id);
  assert.equal(got.name, name);
  assert.deepEqual(got.configuration, { MODE: 'test' }, 'configuration kept');
});

test('reactors.delete removes the reactor', async () => {
  const r = await newReactor();
  await s.admin.reactors.delete(r.id);
  await rejectsWith(s.admin.reactors.get(r.id), BasisTheory.NotFoundError, 404);
});

// chargeCard builds examples/charge-card (a Go guest) the way `make examples` does.
function chargeCard() {
  const dir = mkdtempSync(join(tmpdir(), 'charge-card-'));
  const out = join(dir, 'charge-card.wasm');
  try {
    execFileSync('go', ['build', '-buildmode=c-shared', '-o', out, './examples/charge-card'],
      { cwd: join(dirname(fileURLToPath(import.meta.url)), '..'), env: { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm' }, stdio: 'pipe' });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reactors.react runs the charge-card example on a detokenized card against a TLS processor', async () => {
  const card = await s.admin.tokens.create({ type: 'card_number', data: '4242424242424242' });
  s.dest.setResponder(() => ({ status: 200, body: JSON.stringify({ id: 'ch_sdk', network_token: 'nt_sdk_network' }) }));
  try {
    const r = await s.admin.reactors.create({
      name: unique('charge'), code: chargeCard().toString('base64'),
      configuration: { CHARGE_URL: `${s.dest.url}/charges`, API_KEY: 'sk_sdk' },
    });
    const before = s.dest.received.length;
    const out = await s.admin.reactors.react(r.id, { args: { card: { number: `{{ ${card.id} }}` }, amount: 1000 } });
    assert.deepEqual(out.raw, { status: 200, charge_id: 'ch_sdk' });
    assert.equal(typeof out.tokens.network_token, 'string');
    assert.ok(!JSON.stringify(out).includes('4242424242424242') && !JSON.stringify(out).includes('nt_sdk_network'));
    const got = s.dest.received.slice(before);
    assert.equal(got.length, 1);
    assert.deepEqual(JSON.parse(got[0].body), { amount: 1000, number: '4242424242424242' });
    assert.equal(got[0].headers.authorization, 'Bearer sk_sdk');
    const vaulted = await s.admin.tokens.get(out.tokens.network_token);
    assert.equal(vaulted.data, 'nt_sdk_network');
  } finally {
    s.dest.setResponder(null);
  }
});
