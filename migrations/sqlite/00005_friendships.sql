-- +goose Up
CREATE TABLE friendships (
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id  INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remark     TEXT     NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);
CREATE INDEX idx_friendships_friend ON friendships (friend_id);

-- +goose Down
DROP TABLE friendships;
