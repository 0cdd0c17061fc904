-- Idempotency records (BT-IDEMPOTENCY-KEY): key is a keyed hash of (application, idempotency
-- key); record is sealed (a kept answer may hold token data). claim and claim_until are the
-- in-flight claim (NULL once answered); the sweep deletes rows past expires_at.
CREATE TABLE idempotency (
    key         bytea PRIMARY KEY,
    record      bytea NOT NULL,
    claim       text,
    claim_until timestamptz,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_expires_at ON idempotency (expires_at);
