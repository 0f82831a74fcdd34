-- +goose Up
CREATE TABLE activation_tokens (
    id         INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT     NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_activation_tokens_hash ON activation_tokens (token_hash);
CREATE INDEX idx_activation_tokens_user ON activation_tokens (user_id);

-- +goose Down
DROP TABLE activation_tokens;
