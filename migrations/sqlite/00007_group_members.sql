-- +goose Up
CREATE TABLE group_members (
    group_id  INTEGER  NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT     NOT NULL,
    joined_at DATETIME NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX idx_group_members_user ON group_members (user_id, group_id);

-- +goose Down
DROP TABLE group_members;
