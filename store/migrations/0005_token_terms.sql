-- Token lists and search: one row per token and term. tag is a keyed hash of one field value
-- (type, container prefix, fingerprint, metadata pair, search index value; "all" for every
-- token); pos the token's position in list order (creation time, id). A query joins the rows
-- of its terms on pos, in pos order from the cursor.
CREATE TABLE token_terms (
    tag      bytea NOT NULL,
    pos      bytea NOT NULL,
    token_id text NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, pos)
);
CREATE INDEX token_terms_token_id ON token_terms (token_id);
