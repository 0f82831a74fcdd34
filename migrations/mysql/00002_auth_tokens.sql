-- +goose Up
CREATE TABLE auth_tokens (
    id         CHAR(32)        NOT NULL,
    user_id    BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(3)     NOT NULL,
    expires_at DATETIME(3)     NOT NULL,
    revoked_at DATETIME(3)     NULL,
    PRIMARY KEY (id),
    KEY idx_auth_tokens_user (user_id, expires_at),
    CONSTRAINT fk_auth_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE auth_tokens;
