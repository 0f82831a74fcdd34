-- +goose Up
CREATE TABLE conversations (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    type            VARCHAR(8)      NOT NULL,
    group_id        BIGINT UNSIGNED NULL,
    user_low        BIGINT UNSIGNED NULL,
    user_high       BIGINT UNSIGNED NULL,
    last_seq        BIGINT UNSIGNED NOT NULL DEFAULT 0,
    last_message_at DATETIME(3)     NULL,
    created_at      DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_conversations_group (group_id),
    UNIQUE KEY uq_conversations_pair (user_low, user_high)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE conversations;
