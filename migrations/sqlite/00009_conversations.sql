-- +goose Up
CREATE TABLE conversations (
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    type            TEXT     NOT NULL,
    group_id        INTEGER  NULL,
    user_low        INTEGER  NULL,
    user_high       INTEGER  NULL,
    last_seq        INTEGER  NOT NULL DEFAULT 0,
    last_message_at DATETIME NULL,
    created_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_conversations_group ON conversations (group_id);
CREATE UNIQUE INDEX uq_conversations_pair ON conversations (user_low, user_high);

-- +goose Down
DROP TABLE conversations;
