-- +goose Up
CREATE TABLE `groups` (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name            VARCHAR(64)     NOT NULL,
    notice          VARCHAR(1000)   NOT NULL DEFAULT '',
    avatar_url      VARCHAR(512)    NOT NULL DEFAULT '',
    owner_id        BIGINT UNSIGNED NOT NULL,
    join_approval   BOOLEAN         NOT NULL DEFAULT FALSE,
    max_members     INT             NOT NULL,
    member_count    INT             NOT NULL DEFAULT 0,
    conversation_id BIGINT UNSIGNED NULL,
    created_at      DATETIME(3)     NOT NULL,
    updated_at      DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY idx_groups_name (name),
    KEY idx_groups_owner (owner_id),
    CONSTRAINT fk_groups_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE `groups`;
