// applications and applicationKeys through @basis-theory/node-sdk against a real Sluice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BasisTheory } from '@basis-theory/node-sdk';
import { startSluice, pageAll, rejectsWith, unique, softly } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

const readWrite = ['token:create', 'token:read'];

async function newApp(extra = {}) {
  return s.admin.applications.create({ name: unique('app'), type: 'private', permissions: readWrite, createKey: true, ...extra });
}

test('applications.create returns the BT application with its key once', async () => {
  const soft = softly();
  const name = unique('checkout');
  const app = await s.admin.applications.create({ name, type: 'private', permissions: readWrite, createKey: true });
  soft.match(app.id, /^[0-9a-f-]{36}$/i, 'id is not a UUID');
  soft.equal(app.name, name);
  soft.equal(app.type, 'private');
  soft.deepEqual([...app.permissions].sort(), readWrite);
  soft.equal(typeof app.tenantId, 'string', 'tenant_id missing');
  soft.ok(app.createdAt instanceof Date && !isNaN(app.createdAt), 'created_at is not a date');
  soft.equal(typeof app.createdBy, 'string', 'created_by missing');
  assert.equal(typeof app.key, 'string', 'key shown on create');
  soft.ok(Array.isArray(app.keys) && app.keys.length === 1 && app.keys[0].key === app.key, `keys holds the created key: ${JSON.stringify(app.keys)}`);
  // The key works with the SDK at once.
  const tok = await s.client(app.key).tokens.create({ type: 'token', data: 'x' });
  assert.equal(typeof tok.id, 'string');
  soft.done();
});

test('applications.create keeps access rules (a rules-only application gets its rules)', async () => {
  const rules = [
    { description: 'reveal general', priority: 1, container: '/general/', transform: 'reveal', permissions: ['token:read', 'token:create'] },
    { description: 'mask pci', priority: 2, container: '/pci/', transform: 'mask', permissions: ['token:read'] },
  ];
  const app = await s.admin.applications.create({ name: unique('rules'), type: 'private', rules, createKey: true });
  assert.equal(app.rules?.length, 2, `rules echoed: ${JSON.stringify(app.rules)}`);
  assert.deepEqual(app.rules.map((r) => [r.priority, r.container, r.transform]), [[1, '/general/', 'reveal'], [2, '/pci/', 'mask']]);
  const c = s.client(app.key);
  const tok = await c.tokens.create({ type: 'token', data: { secret: 'rules-work' } });
  assert.deepEqual((await c.tokens.get(tok.id)).data, { secret: 'rules-work' }, 'reveal rule on /general/');
  const card = await s.admin.tokens.create({ type: 'card_number', data: '4242424242424242' });
  assert.equal((await c.tokens.get(card.id)).data, 'XXXXXXXXXXXX4242', 'mask rule on /pci/');
  // A token in a container no rule covers answers as an unknown token does: no existence oracle.
  const bank = await s.admin.tokens.create({ type: 'token', data: 'elsewhere', containers: ['/bank/high/'] });
  await rejectsWith(c.tokens.get(bank.id), BasisTheory.NotFoundError, 404);
});

test('applications.get returns the application without its key', async () => {
  const app = await newApp();
  const got = await s.admin.applications.get(app.id);
  assert.equal(got.id, app.id);
  assert.equal(got.name, app.name);
  assert.equal(got.type, 'private');
  assert.deepEqual([...got.permissions].sort(), readWrite);
  assert.equal(got.key, undefined, 'key is shown only on create');
  await rejectsWith(s.admin.applications.get('00000000-0000-4000-8000-000000000000'), BasisTheory.NotFoundError, 404);
});

test('applications.update replaces name and permissions', async () => {
  const app = await newApp();
  const name = unique('renamed');
  const updated = await s.admin.applications.update(app.id, { name, permissions: ['token:read'] });
  assert.equal(updated.id, app.id);
  assert.equal(updated.name, name);
  assert.deepEqual(updated.permissions, ['token:read']);
  assert.ok(updated.modifiedAt instanceof Date && !isNaN(updated.modifiedAt), 'modified_at');
  assert.equal((await s.admin.applications.get(app.id)).name, name);
  // The key lost token:create at once.
  await rejectsWith(s.client(app.key).tokens.create({ type: 'token', data: 'x' }), BasisTheory.ForbiddenError, 403);
});

test('applications.delete removes it and stops its key', async () => {
  const app = await newApp();
  await s.admin.applications.delete(app.id);
  await rejectsWith(s.admin.applications.get(app.id), BasisTheory.NotFoundError, 404);
  await rejectsWith(s.client(app.key).tokens.create({ type: 'token', data: 'x' }), BasisTheory.UnauthorizedError, 401);
});

test('applications.list pages to the end with page and size', async () => {
  const mine = [];
  for (let i = 0; i < 12; i++) mine.push((await s.admin.applications.create({ name: unique(`list${i}`), type: 'management', permissions: ['token:read'] })).id);
  const size = 5;
  const { items, pages } = await pageAll(s.admin.applications.list({ size, type: 'management' }), size);
  const ids = items.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length, 'no application twice');
  for (const id of mine) assert.ok(ids.includes(id), `application ${id} missing from the pages`);
  assert.ok(items.every((a) => a.type === 'management'), 'type filter');
  assert.ok(pages >= 3, `${pages} pages for ${items.length} items of size ${size}`);
  // The id filter narrows to exactly the named ones.
  const two = await pageAll(s.admin.applications.list({ id: mine.slice(0, 2), size }), size);
  assert.deepEqual(two.items.map((a) => a.id).sort(), mine.slice(0, 2).sort());
});

test('applications.getByKey returns the calling key\'s own application', async () => {
  const app = await newApp({ permissions: ['token:create'] });
  const own = await s.client(app.key).applications.getByKey();
  assert.equal(own.id, app.id);
  assert.equal(own.name, app.name);
  await rejectsWith(s.client('not-a-key').applications.getByKey(), BasisTheory.UnauthorizedError, 401);
});

test('applicationKeys.create adds a second live key', async () => {
  const app = await newApp();
  const k = await s.admin.applicationKeys.create(app.id);
  assert.equal(typeof k.id, 'string');
  assert.equal(typeof k.key, 'string');
  assert.notEqual(k.key, app.key);
  assert.ok(k.createdAt instanceof Date && !isNaN(k.createdAt), 'created_at');
  for (const key of [app.key, k.key]) {
    const tok = await s.client(key).tokens.create({ type: 'token', data: 'both keys live' });
    assert.equal(typeof tok.id, 'string');
  }
});

test('applicationKeys.list returns every key without its value', async () => {
  const app = await newApp();
  const k = await s.admin.applicationKeys.create(app.id);
  const keys = await s.admin.applicationKeys.list(app.id);
  assert.ok(Array.isArray(keys), 'a bare array');
  assert.equal(keys.length, 2);
  assert.ok(keys.some((x) => x.id === k.id), 'the new key is listed');
  assert.ok(keys.every((x) => x.key === undefined), 'no key values in the list');
});

test('applicationKeys.get returns one key without its value', async () => {
  const app = await newApp();
  const k = await s.admin.applicationKeys.create(app.id);
  const got = await s.admin.applicationKeys.get(app.id, k.id);
  assert.equal(got.id, k.id);
  assert.equal(got.key, undefined);
  await rejectsWith(s.admin.applicationKeys.get(app.id, '00000000-0000-4000-8000-000000000000'), BasisTheory.NotFoundError, 404);
});

test('applicationKeys.delete stops that key at once and leaves the others', async () => {
  const app = await newApp();
  const k = await s.admin.applicationKeys.create(app.id);
  await s.admin.applicationKeys.delete(app.id, k.id);
  await rejectsWith(s.client(k.key).tokens.create({ type: 'token', data: 'x' }), BasisTheory.UnauthorizedError, 401);
  const tok = await s.client(app.key).tokens.create({ type: 'token', data: 'still live' });
  assert.equal(typeof tok.id, 'string');
  await rejectsWith(s.admin.applicationKeys.get(app.id, k.id), BasisTheory.NotFoundError, 404);
});
