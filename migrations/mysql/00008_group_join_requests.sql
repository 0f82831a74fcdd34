-- +goose Up
CREATE TABLE group_join_requests (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    group_id   BIGINT UNSIGNED NOT NULL,
    user_id    BIGINT UNSIGNED NOT NULL,
    message    VARCHAR(255)    NOT NULL DEFAULT '',
    status     VARCHAR(10)     NOT NULL,
    created_at DATETIME(3)     NOT NULL,
    updated_at DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_group_join_requests_pair (group_id, user_id),
    KEY idx_group_join_requests_status (group_id, status, id),
    KEY idx_group_join_requests_user (user_id),
    CONSTRAINT fk_group_join_requests_group FOREIGN KEY (group_id) REFERENCES `groups` (id) ON DELETE CASCADE,
    CONSTRAINT fk_group_join_requests_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE group_join_requests;
