-- +goose Up
CREATE TABLE sockets (
    id           TEXT     NOT NULL PRIMARY KEY,
    user_id      INTEGER  NOT NULL,
    node_id      TEXT     NOT NULL,
    token_id     TEXT     NOT NULL,
    connected_at DATETIME NOT NULL,
    last_seen    DATETIME NOT NULL
);
CREATE INDEX idx_sockets_user ON sockets (user_id);
CREATE INDEX idx_sockets_node ON sockets (node_id);
CREATE INDEX idx_sockets_last_seen ON sockets (last_seen);

-- +goose Down
DROP TABLE sockets;
