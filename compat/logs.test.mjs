// logs and permissions through @basis-theory/node-sdk against a real Sluice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BasisTheory } from '@basis-theory/node-sdk';
import { startSluice, pageAll, rejectsWith, unique, softly } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

test('logs.list pages to the end, newest first, filtered by entity', async () => {
  const secret = unique('log-secret');
  const tok = await s.admin.tokens.create({ type: 'token', data: secret });
  const reads = 11;
  for (let i = 0; i < reads; i++) await s.admin.tokens.get(tok.id);
  await s.admin.tokens.update(tok.id, { metadata: { touched: 'yes' } });
  const size = 5;
  const { items, pages } = await pageAll(s.admin.logs.list({ entityType: 'token', entityId: tok.id, size }), size);
  assert.ok(items.length >= reads + 2, `${items.length} events for 1 create, ${reads} reads and 1 update`);
  assert.ok(pages >= 3, `${pages} pages`);
  const ids = items.map((l) => l.id);
  assert.equal(new Set(ids).size, ids.length, 'no event twice');
  const soft = softly();
  for (const l of items) {
    soft.equal(l.entityId, tok.id, 'entity_id filter');
    soft.equal(l.entityType, 'token', 'entity_type');
    soft.equal(typeof l.operation, 'string', 'operation');
    soft.equal(typeof l.tenantId, 'string', 'tenant_id missing');
    soft.equal(typeof l.actorId, 'string', 'actor_id missing');
    soft.equal(typeof l.actorType, 'string', 'actor_type missing');
    soft.ok(l.createdAt instanceof Date && !isNaN(l.createdAt), 'created_at is not a date');
    soft.ok(!JSON.stringify(l).includes(secret), 'no plaintext in a log');
  }
  const times = items.map((l) => +l.createdAt);
  soft.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  // A window that ends before the token existed holds none of its events.
  const before = await pageAll(s.admin.logs.list({ entityId: tok.id, endDate: new Date(Date.now() - 3600_000), size }), size);
  soft.equal(before.items.length, 0, 'end_date filter');
  soft.done();
});

test('logs.getEntityTypes returns a bare array of display names and values', async () => {
  const types = await s.admin.logs.getEntityTypes();
  assert.ok(Array.isArray(types), `a bare array, got ${JSON.stringify(types).slice(0, 200)}`);
  for (const t of types) {
    assert.equal(typeof t.displayName, 'string');
    assert.equal(typeof t.value, 'string');
  }
  const values = types.map((t) => t.value);
  for (const v of ['token', 'proxy', 'application']) assert.ok(values.includes(v), `entity type ${v}`);
});

test('permissions.list follows BT\'s application types', async () => {
  const priv = await s.admin.permissions.list({ applicationType: 'private' });
  assert.ok(Array.isArray(priv), `a bare array, got ${JSON.stringify(priv).slice(0, 200)}`);
  for (const p of priv) {
    assert.equal(typeof p.type, 'string');
    assert.equal(typeof p.description, 'string');
    assert.ok(Array.isArray(p.applicationTypes) && p.applicationTypes.includes('private'), `${p.type} allowed for private`);
  }
  const privTypes = priv.map((p) => p.type);
  for (const t of ['token:create', 'token:read', 'token:reveal', 'proxy:invoke']) assert.ok(privTypes.includes(t), `private has ${t}`);
  const pub = (await s.admin.permissions.list({ applicationType: 'public' })).map((p) => p.type);
  assert.ok(pub.includes('token:create'), 'public may create tokens');
  assert.ok(!pub.includes('token:read') && !pub.includes('token:reveal'), 'public may never read tokens');
  const all = await s.admin.permissions.list();
  assert.ok(all.length >= priv.length, 'no filter lists every permission');
  await rejectsWith(s.client('not-a-key').permissions.list(), BasisTheory.UnauthorizedError, 401);
});
