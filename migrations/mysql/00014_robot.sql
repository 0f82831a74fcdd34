-- +goose Up
INSERT INTO users (username, email, password_hash, nickname, signature, activated_at, created_at, updated_at)
VALUES ('robot', 'robot@lechat.invalid', '!', '乐聊机器人 LeChat Bot', '有问题就问我 · Ask me anything',
        UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3));

-- +goose Down
DELETE FROM users WHERE username = 'robot';
