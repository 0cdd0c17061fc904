-- A token's claims and terms go with it by one trigger per DELETE statement on tokens, not by
-- foreign keys: a foreign key checks the token of every claim and term row inserted (a query
-- each: seven per card token created), while these rows are only ever inserted with their
-- token, in its statement, or under its row lock (an update).
CREATE FUNCTION tokens_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM token_terms WHERE token_id IN (SELECT id FROM gone);
    DELETE FROM token_claims WHERE token_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION tokens_deleted();
ALTER TABLE token_terms DROP CONSTRAINT token_terms_token_id_fkey;
ALTER TABLE token_claims DROP CONSTRAINT token_claims_token_id_fkey;
