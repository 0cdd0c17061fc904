// keys (client-side encryption) through @basis-theory/node-sdk against a real Sluice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { BasisTheory } from '@basis-theory/node-sdk';
import { startSluice, rejectsWith, softly } from './harness.mjs';

let s;
before(async () => { s = await startSluice(); });
after(async () => { await s?.stop(); });

// The SDK sends POST /keys as application/json-patch+json and reads keyId (BT has no separate id).
test('keys.create returns a key id and a public key PEM', async () => {
  const soft = softly();
  const expiresAt = new Date(Date.now() + 24 * 3600 * 1000);
  const k = await s.admin.keys.create({ expiresAt });
  assert.equal(typeof k.keyId, 'string', `key_id: ${JSON.stringify(k)}`);
  assert.match(k.publicKeyPem ?? '', /^-----BEGIN PUBLIC KEY-----/, 'public_key_pem');
  // BT's PEM holds the raw 32-byte X25519 key (what its SDKs import), not SPKI.
  const der = Buffer.from(k.publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  soft.equal(der.length, 32, `PEM body is ${der.length} bytes, want the raw 32-byte X25519 key`);
  soft.ok(k.expiresAt instanceof Date && Math.abs(k.expiresAt - expiresAt) < 2000, `expires_at ${k.expiresAt}`);
  const dflt = await s.admin.keys.create();
  assert.equal(typeof dflt.keyId, 'string', 'create with no body');
  soft.done();
});

test('keys.get returns the key metadata by key id', async () => {
  const k = await s.admin.keys.create();
  const got = await s.admin.keys.get(k.keyId);
  assert.equal(got.keyId, k.keyId);
  assert.equal(got.publicKeyPem, undefined, 'the public key is shown only on create');
  await rejectsWith(s.admin.keys.get('00000000-0000-4000-8000-000000000000'), BasisTheory.NotFoundError, 404);
});

test('keys.list returns a bare array of every key', async () => {
  const a = await s.admin.keys.create();
  const b = await s.admin.keys.create();
  const keys = await s.admin.keys.list();
  assert.ok(Array.isArray(keys), `a bare array, got ${JSON.stringify(keys).slice(0, 200)}`);
  for (const k of [a, b]) assert.ok(keys.some((x) => x.keyId === k.keyId), `key ${k.keyId} listed`);
});

test('keys.delete removes the key', async () => {
  const k = await s.admin.keys.create();
  await s.admin.keys.delete(k.keyId);
  await rejectsWith(s.admin.keys.get(k.keyId), BasisTheory.NotFoundError, 404);
});

// encryptFor makes the compact JWE a BT client builds for a key: ECDH-ES with X25519 (direct key
// agreement, Concat KDF of RFC 7518 §4.6), A256GCM, the PEM's raw 32-byte key as the recipient.
function encryptFor(key, data) {
  const b64u = (b) => Buffer.from(b).toString('base64url');
  const raw = Buffer.from(key.publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const recipient = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(raw) }, format: 'jwk' });
  const eph = generateKeyPairSync('x25519');
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const enc = Buffer.from('A256GCM');
  const otherInfo = Buffer.concat([u32(enc.length), enc, u32(0), u32(0), u32(256)]);
  const cek = createHash('sha256').update(Buffer.concat([u32(1), z, otherInfo])).digest();
  const header = b64u(JSON.stringify({ alg: 'ECDH-ES', enc: 'A256GCM', kid: key.keyId, epk: eph.publicKey.export({ format: 'jwk' }) }));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv).setAAD(Buffer.from(header));
  const ct = Buffer.concat([cipher.update(JSON.stringify(data)), cipher.final()]);
  return [header, '', b64u(iv), b64u(ct), b64u(cipher.getAuthTag())].join('.');
}

test('keys.create key encrypts data that tokens.create stores (client-side encryption)', async () => {
  const k = await s.admin.keys.create();
  const data = { number: '4242424242424242', expiration_month: 12, expiration_year: 2099 };
  const tok = await s.admin.tokens.create({ type: 'card', encrypted: encryptFor(k, data) });
  assert.deepEqual((await s.admin.tokens.get(tok.id)).data, data);
  await s.admin.keys.delete(k.keyId);
  await rejectsWith(s.admin.tokens.create({ type: 'card', encrypted: encryptFor(k, data) }), BasisTheory.BadRequestError, 400);
});
