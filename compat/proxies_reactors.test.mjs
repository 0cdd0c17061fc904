// A Basis Theory user's setup through @basis-theory/node-sdk: a proxy written in BT's transform
// formats (code, tokenize with identifier, append_header with location, append_json and
// append_text reading transform_identifier, the proxy's application) next to a reactor, both
// created and used through the SDK against a real Sluice and a real TLS destination.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSluice, unique, softly, wasmModule } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

async function invoke(proxyKey, body) {
  const res = await fetch(`${s.baseUrl}/proxy/charges`, {
    method: 'POST',
    headers: { 'BT-API-KEY': s.adminKey, 'BT-PROXY-KEY': proxyKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

test('a proxy in BT transform formats and a reactor, through the SDK', async () => {
  const soft = softly();
  const app = await s.admin.applications.create({ name: unique('proxy-app'), type: 'private', permissions: ['token:use', 'token:create'] });
  const reactor = await s.admin.reactors.create({
    name: unique('reactor'), code: wasmModule('sluice_on_react').toString('base64'), application: { id: app.id },
  });
  const p = await s.admin.proxies.create({
    name: unique('bt-formats'),
    destinationUrl: s.dest.url,
    configuration: { MERCHANT: 'm-7' },
    application: { id: app.id },
    requestTransforms: [
      { type: 'code', code: wasmModule('sluice_on_request').toString('base64') },
      { type: 'tokenize', options: { identifier: 'sent', token: { type: 'card_number', data: "{{ request | json: '$.number' }}" } } },
      { type: 'append_header', options: { location: 'X-Sent-Token', value: "{{ transform_identifier: 'sent' | json: '$.id' }}" } },
    ],
    responseTransforms: [
      { type: 'tokenize', options: { identifier: 'card', token: { type: 'card_number', data: "{{ res | json: '$.card' }}", metadata: { from: 'issuer' } } } },
      { type: 'append_json', options: { value: "{{ transform_identifier: 'card' | json: '$.id' }}", location: '$.card_token' } },
      { type: 'append_header', options: { location: 'X-Merchant', value: '{{ config: MERCHANT }}' } },
    ],
  });
  soft.equal(p.state, 'active', 'state');
  soft.equal(p.applicationId, app.id, 'application_id');
  soft.equal(p.requestTransforms?.[0]?.type, 'code', 'a code transform shows as code');
  soft.match(p.requestTransforms?.[0]?.code ?? '', /^sha256:[0-9a-f]{64}$/, 'and names its module');

  const tok = await s.admin.tokens.create({ type: 'card_number', data: '4242424242424242' });
  s.dest.setResponder(() => ({ status: 200, body: JSON.stringify({ card: '5555555555554444', ok: true }) }));
  let res;
  try {
    res = await invoke(p.key, { amount: 1000, number: `{{ ${tok.id} }}` });
  } finally {
    s.dest.setResponder(null);
  }
  assert.equal(res.status, 200, `proxy answered ${res.status}: ${res.text}`);
  const got = s.dest.received.at(-1);
  soft.deepEqual(JSON.parse(got.body), { amount: 1000, number: '4242424242424242' }, 'detokenized body');
  const sent = got.headers['x-sent-token'];
  soft.equal(typeof sent, 'string', 'request tokenize → append_header');
  if (typeof sent === 'string') soft.equal((await s.admin.tokens.get(sent)).data, '4242424242424242', 'request token');
  soft.equal(res.headers.get('x-merchant'), 'm-7', 'response append_header');
  soft.equal(typeof res.json?.card_token, 'string', `response tokenize → append_json: ${res.text}`);
  if (typeof res.json?.card_token === 'string') {
    const card = await s.admin.tokens.get(res.json.card_token);
    soft.equal(card.data, '5555555555554444', 'response token');
    soft.deepEqual(card.metadata, { from: 'issuer' }, 'response token metadata');
    soft.equal(card.createdBy, app.id, 'the proxy tokenized as its application');
  }

  const out = await s.admin.reactors.react(reactor.id, { args: { card: `{{ ${tok.id} }}` } });
  soft.equal(typeof out, 'object', 'reactors.react answers');
  soft.ok(!JSON.stringify(out ?? {}).includes('4242424242424242'), 'the caller never sees the detokenized args');
  soft.done();
});
