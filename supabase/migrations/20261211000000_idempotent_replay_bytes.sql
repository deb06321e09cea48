-- A replayed answer to an Idempotency-Key is the first answer byte for byte
-- (docs/decisions/idempotency-keys.md).
--
-- The first answer's data was stored as jsonb, which keeps values but not the text: keys come back
-- sorted by length, then bytes. The replay then sent the same values in another order, so its bytes
-- and its ETag differed from the first answer's. `json` stores the text exactly as written; the API
-- writes the data exactly as it sent it and sends it back unchanged.
--
-- Rows stored before this migration (at most 24 hours of them) keep jsonb's text: their replays
-- still differ from their first answers in key order and spacing, as they did before.
-- The stored requests stay jsonb: they are compared as values, never sent back.
ALTER TABLE public.control_idempotency_keys ALTER COLUMN response TYPE json USING response::json;
ALTER TABLE public.batch_create_idempotency_keys ALTER COLUMN response TYPE json USING response::json;
