-- +goose Up
CREATE TABLE groups (
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    name            TEXT     NOT NULL,
    notice          TEXT     NOT NULL DEFAULT '',
    avatar_url      TEXT     NOT NULL DEFAULT '',
    owner_id        INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    join_approval   BOOLEAN  NOT NULL DEFAULT FALSE,
    max_members     INTEGER  NOT NULL,
    member_count    INTEGER  NOT NULL DEFAULT 0,
    conversation_id INTEGER  NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
CREATE INDEX idx_groups_name ON groups (name);
CREATE INDEX idx_groups_owner ON groups (owner_id);

-- +goose Down
DROP TABLE groups;
