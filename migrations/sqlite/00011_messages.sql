-- +goose Up
CREATE TABLE messages (
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER  NOT NULL,
    sender_id       INTEGER  NOT NULL,
    kind            TEXT     NOT NULL,
    content         TEXT     NOT NULL,
    client_msg_id   TEXT     NOT NULL,
    created_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_messages_seq ON messages (conversation_id, seq);
CREATE UNIQUE INDEX uq_messages_client ON messages (sender_id, client_msg_id);

-- +goose Down
DROP TABLE messages;
