-- +goose Up
CREATE TABLE group_join_requests (
    id         INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    group_id   INTEGER  NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    TEXT     NOT NULL DEFAULT '',
    status     TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_group_join_requests_pair ON group_join_requests (group_id, user_id);
CREATE INDEX idx_group_join_requests_status ON group_join_requests (group_id, status, id);
CREATE INDEX idx_group_join_requests_user ON group_join_requests (user_id);

-- +goose Down
DROP TABLE group_join_requests;
