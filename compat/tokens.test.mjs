// tokens through @basis-theory/node-sdk against a real Sluice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BasisTheory } from '@basis-theory/node-sdk';
import { startSluice, pageAll, rejectsWith, unique, softly } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

const card = { number: '4242424242424242', expiration_month: 12, expiration_year: 2099, cvc: '123' };

test('tokens.create stores data and answers BT\'s token shape', async () => {
  const soft = softly();
  const data = { name: 'Ada', nested: { list: [1, 'two', null, true] } };
  const tok = await s.admin.tokens.create({ type: 'token', data, metadata: { order: 'o-1' } });
  assert.equal(typeof tok.id, 'string');
  soft.equal(tok.type, 'token');
  soft.deepEqual((await s.admin.tokens.get(tok.id)).data, data, 'data round-trips (the admin key holds token:reveal)');
  soft.deepEqual(tok.metadata, { order: 'o-1' }, 'metadata');
  soft.equal(typeof tok.tenantId, 'string', 'tenant_id missing');
  soft.equal(typeof tok.createdBy, 'string', 'created_by missing');
  soft.ok(tok.createdAt instanceof Date && !isNaN(tok.createdAt), 'created_at is not a date');
  soft.deepEqual(tok.containers, ['/general/high/'], 'BT default container of a token-type token');

  const c = await s.admin.tokens.create({ type: 'card', data: card });
  soft.deepEqual(c.containers, ['/pci/high/'], 'card default container');
  soft.equal(c.card?.bin, '424242', 'card.bin');
  soft.equal(c.card?.last4, '4242', 'card.last4');
  soft.equal(c.card?.brand, 'visa', 'card.brand');
  soft.equal(typeof c.fingerprint, 'string', 'fingerprint');

  const id = unique('custom');
  assert.equal((await s.admin.tokens.create({ id, type: 'token', data: 'mine' })).id, id, 'custom id kept');
  await rejectsWith(s.admin.tokens.create({ id, type: 'token', data: 'again' }), BasisTheory.ConflictError, 409);
  await rejectsWith(s.admin.tokens.create({ type: 'card', data: { ...card, number: '4242424242424241' } }), BasisTheory.BadRequestError, 400);
  soft.done();
});

test('tokens.create with BT-IDEMPOTENCY-KEY replays a repeat and refuses a different body', async () => {
  const req = { type: 'token', data: unique('idem') };
  const idempotencyKey = unique('key');
  const a = await s.admin.tokens.create(req, { idempotencyKey });
  const b = await s.admin.tokens.create(req, { idempotencyKey });
  assert.equal(b.id, a.id, 'the repeat replays the first answer');
  await rejectsWith(s.admin.tokens.create({ ...req, data: 'other' }, { idempotencyKey }), BasisTheory.BadRequestError, 400);
});

test('tokens.get reveals for token:reveal, masks for token:read', async () => {
  const tok = await s.admin.tokens.create({ type: 'card', data: card });
  assert.deepEqual((await s.admin.tokens.get(tok.id)).data, card);
  const reader = await s.admin.applications.create({ name: unique('reader'), type: 'private', permissions: ['token:read'], createKey: true });
  const masked = await s.client(reader.key).tokens.get(tok.id);
  assert.equal(masked.data.number, 'XXXXXXXXXXXX4242', 'BT card mask shows the last 4');
  const plain = await s.admin.tokens.create({ type: 'token', data: 'no default mask' });
  const maskedPlain = await s.client(reader.key).tokens.get(plain.id);
  assert.equal(maskedPlain.data, undefined, 'a masked token-type read has no data (BT has no default mask)');
  await rejectsWith(s.admin.tokens.get('no-such-token-id'), BasisTheory.NotFoundError, 404);
});

test('tokens.update merges metadata and replaces data', async () => {
  const tok = await s.admin.tokens.create({ type: 'token', data: { v: 1 }, metadata: { keep: 'k', drop: 'd', change: 'old' } });
  const up = await s.admin.tokens.update(tok.id, { data: { v: 2 }, metadata: { change: 'new', drop: null, add: 'a' } });
  assert.equal(up.id, tok.id);
  assert.deepEqual(up.metadata, { keep: 'k', change: 'new', add: 'a' }, 'merge patch: keys merge, null removes');
  assert.ok(up.modifiedAt instanceof Date && !isNaN(up.modifiedAt), 'modified_at');
  const got = await s.admin.tokens.get(tok.id);
  assert.deepEqual(got.data, { v: 2 });
  assert.deepEqual(got.metadata, { keep: 'k', change: 'new', add: 'a' });
});

test('tokens.delete removes the token', async () => {
  const tok = await s.admin.tokens.create({ type: 'token', data: 'gone soon' });
  await s.admin.tokens.delete(tok.id);
  await rejectsWith(s.admin.tokens.get(tok.id), BasisTheory.NotFoundError, 404);
  await rejectsWith(s.admin.tokens.delete(tok.id), BasisTheory.NotFoundError, 404);
});

test('custom ids with Basis Theory\'s characters (. @ : space) work through the SDK\'s encoded paths', async () => {
  for (const id of [`cust.${unique('x')}@acme`, `order:${unique('o')}`, `user ${unique('u')}`]) {
    assert.equal((await s.admin.tokens.create({ id, type: 'token', data: 'v1' })).id, id, 'custom id kept');
    assert.equal((await s.admin.tokens.get(id)).data, 'v1', 'get by the custom id');
    assert.equal((await s.admin.tokens.update(id, { data: 'v2' })).id, id, 'update by the custom id');
    assert.equal((await s.admin.tokens.get(id)).data, 'v2', 'the update landed');
    await s.admin.tokens.delete(id);
    await rejectsWith(s.admin.tokens.get(id), BasisTheory.NotFoundError, 404);
  }
  await rejectsWith(s.admin.tokens.create({ id: 'a/b', type: 'token', data: 'x' }), BasisTheory.BadRequestError, 400);
});

async function createTagged(n, tag, extra = {}) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await s.admin.tokens.create({ type: 'token', data: `${tag}-${i}`, metadata: { run: tag }, ...extra })).id);
  return ids;
}

function assertExactly(items, ids) {
  const got = items.map((t) => t.id);
  assert.equal(new Set(got).size, got.length, 'no token twice');
  assert.deepEqual([...got].sort(), [...ids].sort(), 'every created token, nothing else');
}

test('tokens.listV2 pages with the cursor to the end', async () => {
  const tag = unique('list');
  const ids = await createTagged(12, tag);
  const size = 5;
  const first = await s.admin.tokens.listV2({ metadata: { run: tag }, size });
  // A token created while paging must not make the cursor repeat or skip the others.
  const late = (await s.admin.tokens.create({ type: 'token', data: 'late', metadata: { run: tag } })).id;
  const { items, pages } = await pageAll(first, size);
  assertExactly(items.filter((t) => t.id !== late), ids);
  assert.ok(pages === 3 || pages === 4, `${pages} pages`);
  assert.ok(items.every((t) => t.metadata?.run === tag));
  const byType = await pageAll(s.admin.tokens.listV2({ type: 'token', container: '/general/', size: 100 }), 100);
  assert.ok(ids.every((id) => byType.items.some((t) => t.id === id)), 'type and container filters keep them');
});

test('tokens.searchV2 pages with the cursor to the end', async () => {
  const tag = unique('search');
  const ids = await createTagged(12, tag);
  const size = 5;
  const { items } = await pageAll(s.admin.tokens.searchV2({ query: `metadata.run:${tag}`, size }), size);
  assertExactly(items, ids);
  const one = await pageAll(s.admin.tokens.searchV2({ query: `metadata.run:${tag} AND type:token`, size }), size);
  assertExactly(one.items, ids);
  await rejectsWith(s.admin.tokens.searchV2({ query: 'metadata.run:"unterminated' }), BasisTheory.BadRequestError, 400);
});

test('tokens.tokenize replaces leaves and token requests with tokens', async () => {
  const out = await s.admin.tokens.tokenize({
    email: 'ada@example.com',
    card: { type: 'card_number', data: '4242424242424242' },
    list: ['a', 'b'],
  });
  assert.equal(typeof out.email, 'string', 'a leaf becomes a token id');
  assert.notEqual(out.email, 'ada@example.com');
  assert.equal((await s.admin.tokens.get(out.email)).data, 'ada@example.com');
  assert.equal(typeof out.card?.id, 'string', 'a token request becomes the created token');
  assert.equal(out.card.type, 'card_number');
  assert.equal((await s.admin.tokens.get(out.card.id)).data, '4242424242424242');
  assert.equal(out.list.length, 2);
  await rejectsWith(s.admin.tokens.tokenize({ bad: { type: 'card_number', data: '1234' } }), BasisTheory.BadRequestError, 400);
});

test('tokens.detokenize resolves expressions in any JSON', async () => {
  const c = await s.admin.tokens.create({ type: 'card', data: card });
  const t = await s.admin.tokens.create({ type: 'token', data: 'plain-string' });
  const out = await s.admin.tokens.detokenize({
    number: `{{ ${c.id} | json: '$.number' }}`,
    nested: { value: `{{ ${t.id} }}` },
    untouched: 42,
  });
  assert.deepEqual(out, { number: card.number, nested: { value: 'plain-string' }, untouched: 42 });
  await rejectsWith(s.admin.tokens.detokenize({ x: '{{ no-such-token }}' }), BasisTheory.BadRequestError, 400);
});

test('BT-TRACE-ID from the SDK\'s correlationId is answered back', async () => {
  const tok = await s.admin.tokens.create({ type: 'token', data: 'traced' });
  const { rawResponse } = await s.admin.tokens.get(tok.id, { correlationId: 'compat-trace-1' }).withRawResponse();
  assert.equal(rawResponse.headers.get('bt-trace-id'), 'compat-trace-1');
});
