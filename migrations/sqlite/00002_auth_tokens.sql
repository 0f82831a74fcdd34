-- +goose Up
CREATE TABLE auth_tokens (
    id         TEXT     NOT NULL PRIMARY KEY,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME NULL
);
CREATE INDEX idx_auth_tokens_user ON auth_tokens (user_id, expires_at);

-- +goose Down
DROP TABLE auth_tokens;
