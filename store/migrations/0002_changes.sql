-- The change feed: every mutation records what it changed here, in its own transaction, and
-- sends the row as a NOTIFY on channel sluice_changes (delivered when it commits). Nodes drop
-- their cached copies from the notifications; after a reconnect, or while they cannot listen,
-- they read the rows they missed from this table.
CREATE TABLE changes (
    seq    bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind   text NOT NULL,   -- t: token, a: application, d: document
    prefix text NOT NULL,   -- a document's collection
    id     text NOT NULL
);
CREATE INDEX changes_at ON changes (at);
