-- Version 2: a visitor rates a closed conversation (1-5 and a comment).

-- +goose Up
ALTER TABLE conversations ADD COLUMN rating INTEGER;
ALTER TABLE conversations ADD COLUMN rating_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN rated_at DATETIME;

-- +goose Down
ALTER TABLE conversations DROP COLUMN rated_at;
ALTER TABLE conversations DROP COLUMN rating_comment;
ALTER TABLE conversations DROP COLUMN rating;
