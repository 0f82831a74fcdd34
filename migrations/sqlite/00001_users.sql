-- +goose Up
CREATE TABLE users (
    id            INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    username      TEXT     NOT NULL,
    email         TEXT     NOT NULL,
    password_hash TEXT     NOT NULL,
    nickname      TEXT     NOT NULL DEFAULT '',
    avatar_url    TEXT     NOT NULL DEFAULT '',
    signature     TEXT     NOT NULL DEFAULT '',
    gender        TEXT     NOT NULL DEFAULT '',
    birthday      TEXT     NOT NULL DEFAULT '',
    location      TEXT     NOT NULL DEFAULT '',
    activated_at  DATETIME NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_users_username ON users (username);
CREATE UNIQUE INDEX uq_users_email ON users (email);
CREATE INDEX idx_users_nickname ON users (nickname);

-- +goose Down
DROP TABLE users;
