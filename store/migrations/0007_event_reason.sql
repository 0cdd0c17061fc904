-- Why the caller used a token (Footprint's x-fp-proxy-access-reason), kept with its audit event.
ALTER TABLE events ADD COLUMN reason text NOT NULL DEFAULT '';
