-- +goose Up
CREATE TABLE sockets (
    id           CHAR(36)        NOT NULL,
    user_id      BIGINT UNSIGNED NOT NULL,
    node_id      VARCHAR(128)    NOT NULL,
    token_id     CHAR(32)        NOT NULL,
    connected_at DATETIME(3)     NOT NULL,
    last_seen    DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    KEY idx_sockets_user (user_id),
    KEY idx_sockets_node (node_id),
    KEY idx_sockets_last_seen (last_seen)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE sockets;
