-- +goose Up
CREATE TABLE uploads (
    id           INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    thumb_name   TEXT     NOT NULL,
    content_type TEXT     NOT NULL,
    width        INTEGER  NOT NULL,
    height       INTEGER  NOT NULL,
    bytes        INTEGER  NOT NULL,
    created_at   DATETIME NOT NULL
);
CREATE INDEX idx_uploads_name ON uploads (name);
CREATE INDEX idx_uploads_thumb_name ON uploads (thumb_name);
CREATE INDEX idx_uploads_user ON uploads (user_id, created_at);

-- +goose Down
DROP TABLE uploads;
