// proxies through @basis-theory/node-sdk against a real Sluice and a real TLS destination.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BasisTheory } from '@basis-theory/node-sdk';
import { startSluice, pageAll, rejectsWith, unique, softly, wasmModule } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

const pan = '4242424242424242';

// invoke calls a pre-configured proxy the way a BT user's backend does (the SDK has no method for it).
async function invoke(proxyKey, body, path = '/charges') {
  const res = await fetch(`${s.baseUrl}/proxy${path}`, {
    method: 'POST',
    headers: { 'BT-API-KEY': s.adminKey, 'BT-PROXY-KEY': proxyKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Every transform format BT's SDK and Terraform provider write (SPEC §5), one proxy each, so a
// refusal names the format.
const btTransforms = {
  'code (base64 wasm)': { request: [{ type: 'code', code: wasmModule('sluice_on_request').toString('base64') }] },
  'code (type absent)': { request: [{ code: wasmModule('sluice_on_request').toString('base64') }] },
  'tokenize with identifier': {
    response: [{ type: 'tokenize', options: { identifier: 'card', token: { type: 'card_number', data: "{{ res | json: '$.card' }}" } } }],
  },
  mask: { response: [{ type: 'mask', matcher: 'regex', expression: '(\\d{12})\\d{4}', replacement: '*' }] },
  append_json: { request: [{ type: 'append_json', options: { value: '{{ config: MERCHANT }}', location: '$.merchant' } }] },
  append_text: { request: [{ type: 'append_text', options: { value: ' merchant={{ config: MERCHANT }}' } }] },
  'append_header (options.location)': { request: [{ type: 'append_header', options: { value: '{{ config: MERCHANT }}', location: 'X-Merchant' } }] },
  'request_transform (singular)': { single: { type: 'append_header', options: { value: 'v', location: 'X-Single' } } },
};

// upload stores a module through POST /transforms (the SDK has no method for it) and returns its id.
async function upload(module) {
  const res = await fetch(`${s.baseUrl}/transforms`, {
    method: 'POST', headers: { 'BT-API-KEY': s.adminKey, 'Content-Type': 'application/wasm' }, body: module,
  });
  assert.equal(res.status, 201, `upload: ${await res.clone().text()}`);
  return (await res.json()).id;
}

test('proxies.create accepts every BT transform format', async () => {
  const soft = softly();
  const uploaded = await upload(wasmModule('sluice_on_request'));
  const formats = { ...btTransforms, 'code (sha256: of an uploaded module)': { request: [{ type: 'code', code: uploaded }] } };
  for (const [name, t] of Object.entries(formats)) {
    try {
      const p = await s.admin.proxies.create({
        name: unique('fmt'), destinationUrl: s.dest.url, configuration: { MERCHANT: 'm-42' },
        requestTransforms: t.request, responseTransforms: t.response, requestTransform: t.single,
      });
      soft.equal(typeof p.id, 'string', `${name}: no id`);
    } catch (err) {
      soft.ok(false, `${name}: ${err.statusCode} ${JSON.stringify(err.body?.errors ?? err.body?.detail ?? err.message)}`);
    }
  }
  soft.done();
});

test('proxies.create makes a proxy that detokenizes, transforms and tokenizes through TLS', async () => {
  const soft = softly();
  const name = unique('processor');
  const p = await s.admin.proxies.create({
    name,
    destinationUrl: s.dest.url,
    configuration: { MERCHANT: 'm-42' },
    requireAuth: true,
    requestTransforms: [{ type: 'append_header', options: { value: '{{ config: MERCHANT }}', location: 'X-Merchant' } }],
    responseTransforms: [
      { type: 'tokenize', options: { identifier: 'card', token: { type: 'card_number', data: "{{ res | json: '$.card' }}" } } },
      { type: 'append_json', options: { value: "{{ transform_identifier: 'card' | json: '$.id' }}", location: '$.card_token' } },
    ],
  });
  assert.equal(typeof p.id, 'string');
  assert.equal(typeof p.key, 'string', 'the proxy key is shown on create');
  soft.equal(p.name, name);
  soft.equal(p.destinationUrl, s.dest.url);
  soft.equal(p.state, 'active', 'state');
  soft.equal(typeof p.tenantId, 'string', 'tenant_id missing');
  soft.equal(typeof p.createdBy, 'string', 'created_by missing');
  soft.ok(p.createdAt instanceof Date && !isNaN(p.createdAt), 'created_at is not a date');
  soft.deepEqual(p.configuration, { MERCHANT: 'm-42' }, 'configuration');

  const tok = await s.admin.tokens.create({ type: 'card_number', data: pan });
  s.dest.setResponder(() => ({ status: 200, body: JSON.stringify({ card: '5555555555554444', ok: true }) }));
  const res = await invoke(p.key, { amount: 1000, number: `{{ ${tok.id} }}` });
  s.dest.setResponder(null);
  assert.equal(res.status, 200, `proxy answered ${res.status}: ${res.text}`);
  const got = s.dest.received.at(-1);
  assert.ok(got, 'the request reached the destination');
  soft.deepEqual(JSON.parse(got.body), { amount: 1000, number: pan }, 'detokenized body');
  soft.equal(got.headers['x-merchant'], 'm-42', 'append_header from configuration');
  soft.ok(!Object.keys(got.headers).some((h) => h.startsWith('bt-')), 'no BT-* header forwarded');
  soft.equal(res.headers.get('bt-proxy-destination-status'), '200');
  soft.equal(typeof res.json?.card_token, 'string', `append_json of the tokenized card: ${res.text}`);
  if (typeof res.json?.card_token === 'string') {
    soft.equal((await s.admin.tokens.get(res.json.card_token)).data, '5555555555554444', 'tokenized response value');
  }
  soft.done();
});

test('proxies.list pages to the end and filters by name and id', async () => {
  const tag = unique('plist');
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push((await s.admin.proxies.create({ name: `${tag}-${i}`, destinationUrl: s.dest.url })).id);
  const size = 5;
  const { items, pages } = await pageAll(s.admin.proxies.list({ size }), size);
  const got = items.map((p) => p.id);
  assert.equal(new Set(got).size, got.length, 'no proxy twice');
  for (const id of ids) assert.ok(got.includes(id), `proxy ${id} missing from the pages`);
  assert.ok(pages >= 3, `${pages} pages`);
  const named = await pageAll(s.admin.proxies.list({ name: `${tag}-3`, size }), size);
  assert.deepEqual(named.items.map((p) => p.id), [ids[3]], 'name filter');
  const byId = await pageAll(s.admin.proxies.list({ id: [ids[0], ids[1]], size }), size);
  assert.deepEqual(byId.items.map((p) => p.id).sort(), [ids[0], ids[1]].sort(), 'id filter');
});

test('proxies.get returns the proxy with its transforms in BT format', async () => {
  const transform = { type: 'append_json', options: { value: '{{ config: MERCHANT }}', location: '$.merchant' } };
  const app = await s.admin.applications.create({ name: unique('proxy-app'), type: 'private', permissions: ['token:use'] });
  const p = await s.admin.proxies.create({
    name: unique('get'), destinationUrl: s.dest.url, configuration: { MERCHANT: 'm-1' }, requestTransforms: [transform],
    application: { id: app.id },
  });
  const got = await s.admin.proxies.get(p.id);
  const soft = softly();
  assert.equal(got.id, p.id);
  soft.equal(got.name, p.name);
  soft.equal(got.destinationUrl, s.dest.url);
  soft.deepEqual(got.configuration, { MERCHANT: 'm-1' });
  soft.equal(got.requestTransforms?.length, 1, 'request_transforms');
  soft.equal(got.requestTransforms?.[0]?.type, 'append_json');
  soft.deepEqual(got.requestTransforms?.[0]?.options, transform.options);
  soft.equal(got.applicationId, app.id, 'application_id of the application the SDK sent');
  soft.done();
  await rejectsWith(s.admin.proxies.get('00000000-0000-4000-8000-000000000000'), BasisTheory.NotFoundError, 404);
});

test('proxies.update replaces the proxy', async () => {
  const p = await s.admin.proxies.create({ name: unique('put'), destinationUrl: s.dest.url, configuration: { A: '1' } });
  const name = unique('put2');
  const up = await s.admin.proxies.update(p.id, { name, destinationUrl: `${s.dest.url}/v2`, configuration: { B: '2' } });
  assert.equal(up.id, p.id);
  assert.equal(up.name, name);
  assert.equal(up.destinationUrl, `${s.dest.url}/v2`);
  const got = await s.admin.proxies.get(p.id);
  assert.equal(got.name, name);
  assert.deepEqual(got.configuration, { B: '2' });
  await rejectsWith(s.admin.proxies.update(p.id, { name, destinationUrl: 'ftp://example.com' }), BasisTheory.BadRequestError, 400);
});

test('proxies.patch merges the named fields only', async () => {
  const p = await s.admin.proxies.create({ name: unique('patch'), destinationUrl: s.dest.url, configuration: { A: '1' } });
  const name = unique('patched');
  await s.admin.proxies.patch(p.id, { name });
  const got = await s.admin.proxies.get(p.id);
  assert.equal(got.name, name);
  assert.equal(got.destinationUrl, s.dest.url, 'destination kept');
  assert.deepEqual(got.configuration, { A: '1' }, 'configuration kept');
});

test('proxies.delete removes the proxy and its key', async () => {
  const p = await s.admin.proxies.create({ name: unique('del'), destinationUrl: s.dest.url });
  await s.admin.proxies.delete(p.id);
  await rejectsWith(s.admin.proxies.get(p.id), BasisTheory.NotFoundError, 404);
  const res = await invoke(p.key, { x: 1 });
  assert.ok(res.status >= 400 && res.status < 500, `a deleted proxy's key answers ${res.status}`);
  assert.ok(res.json?.proxy_error, `proxy_error: ${res.text}`);
});
