-- +goose Up
CREATE TABLE friend_requests (
    id           INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    from_user_id INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id   INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message      TEXT     NOT NULL DEFAULT '',
    status       TEXT     NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_friend_requests_pair ON friend_requests (from_user_id, to_user_id);
CREATE INDEX idx_friend_requests_to ON friend_requests (to_user_id, status);

-- +goose Down
DROP TABLE friend_requests;
