-- The vault in PostgreSQL. Columns hold sealed envelopes (AES-GCM under the vault's data key,
-- bound to the record's id), keyed hashes and ids; never a token's plaintext, an API key or a
-- private key.

-- The root secret, wrapped by a key derived from the master key.
CREATE TABLE vault_meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE tokens (
    id          text PRIMARY KEY,
    sealed      bytea NOT NULL,       -- the token record
    ephem       bytea,                -- its short-lived fields (a card's cvc), sealed
    ephem_until timestamptz,          -- when those stop being valid
    expires_at  timestamptz,          -- the token's own expiry (also inside the record)
    claim_key   bytea,                -- its dedupe key (see token_claims), if it has a fingerprint
    type_tag    bytea NOT NULL,       -- keyed hash of the token's type, for lists by type
    created_at  timestamptz NOT NULL
);
CREATE INDEX tokens_created_at ON tokens (created_at);
CREATE INDEX tokens_type_tag ON tokens (type_tag, created_at);
CREATE INDEX tokens_expires_at ON tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX tokens_ephem_until ON tokens (ephem_until) WHERE ephem_until IS NOT NULL;

-- Deduplication: one entry per token type, fingerprint (a keyed hash) and set of containers,
-- hashed; it points at the token deduplication finds, which keeps it while it lives.
CREATE TABLE token_claims (
    key      bytea PRIMARY KEY,
    token_id text NOT NULL REFERENCES tokens (id) ON DELETE CASCADE
);
CREATE INDEX token_claims_token_id ON token_claims (token_id);

CREATE TABLE applications (
    id       text PRIMARY KEY,
    key_hash bytea NOT NULL UNIQUE,   -- keyed hash of the API key
    sealed   bytea NOT NULL           -- the application record
);

-- Proxies, keys (sealed) and transform modules.
CREATE TABLE documents (
    collection text NOT NULL,
    id         text NOT NULL,
    body       bytea NOT NULL,
    PRIMARY KEY (collection, id)
);

-- The audit log. id is the event's id: 8 bytes of big-endian Unix nanoseconds and 8 random
-- bytes, so it orders events by time.
CREATE TABLE events (
    id          bytea PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    operation   text NOT NULL,
    actor       text NOT NULL,
    proxy_id    text NOT NULL
);
CREATE INDEX events_entity_id ON events (entity_id, id);
CREATE INDEX events_actor ON events (actor, id);
CREATE INDEX events_operation ON events (operation, id);
CREATE INDEX events_created_at ON events (created_at);
