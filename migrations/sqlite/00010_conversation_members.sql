-- +goose Up
CREATE TABLE conversation_members (
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_seq        INTEGER  NOT NULL DEFAULT 0,
    joined_seq      INTEGER  NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX idx_conversation_members_user ON conversation_members (user_id);

-- +goose Down
DROP TABLE conversation_members;
