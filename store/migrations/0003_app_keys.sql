-- Applications hold several API keys. The key an application is created with stays in
-- applications.key_hash (NULL once deleted); every other key is a row here, its record sealed
-- and bound to the application and key ids, its keyed hash a column for the lookup by key.
ALTER TABLE applications ALTER COLUMN key_hash DROP NOT NULL;

CREATE TABLE app_keys (
    application_id text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    id             text NOT NULL,
    key_hash       bytea NOT NULL UNIQUE,
    sealed         bytea NOT NULL,
    PRIMARY KEY (application_id, id)
);
